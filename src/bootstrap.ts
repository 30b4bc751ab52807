import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { type AppConfig, ConfigError } from './config.js';
import { AppModule } from './app.module.js';
import { kafkaProblemAt } from './ops/kafka-probe.js';

export interface RunningApp {
  readonly app: INestApplication;
  /** The embedded broker, when the app started one. */
  readonly broker?: EmbeddedKafkaBroker;
  /** Base URL of the HTTP server. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the sample application: with no brokers configured, an embedded Kafka broker in this process
 * (and says so); otherwise the given cluster, after checking that one of its brokers answers as Kafka.
 */
export async function bootstrap(config: AppConfig, options: { progressIntervalMs?: number; logger?: false } = {}): Promise<RunningApp> {
  // Checked first, before a broker starts: Nest's listen() would log the failure with its own line too.
  await checkListenable(config.host ?? '127.0.0.1', config.port);
  let broker: EmbeddedKafkaBroker | undefined;
  let brokers = config.brokers;
  if (!brokers) {
    // Topics and their dead-letter topics up front, with equal partition counts (as you would on a real cluster).
    const topics = ['orders', 'orders.DLT', 'payments'].map((name) => ({ name, partitions: 3 }));
    broker = await EmbeddedKafkaBroker.start({ topics });
    brokers = broker.brokers;
    if (options.logger !== false) console.log(`No KAFKA_BROKERS set: started the embedded Kafka broker at ${brokers.join(',')} (any Kafka client can connect to it)`);
  } else {
    // A Kafka-level check (an ApiVersions request), so that a wrong port fails here with the address named,
    // not later as a stack of kafkajs retries.
    const problems = await Promise.all(brokers.map((b) => kafkaProblemAt(b, 3000)));
    if (problems.every((p) => p !== undefined)) {
      const why = brokers.map((b, i) => `${b} ${problems[i]}`).join('; ');
      throw new ConfigError(`cannot reach Kafka at ${brokers.join(', ')} (KAFKA_BROKERS): ${why}; check the addresses and that the cluster is up`);
    }
  }
  try {
    const app = await NestFactory.create(
      AppModule.forConfig({ brokers, embedded: !!broker, demo: config.demo, progressIntervalMs: options.progressIntervalMs ?? 2000 }),
      options.logger === false ? { logger: false } : { logger: ['log', 'warn', 'error'] },
    );
    const host = config.host ?? '127.0.0.1';
    try {
      await app.listen(config.port, host);
    } catch (err) {
      await app.close();
      throw listenProblem(err, host, config.port);
    }
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return {
      app,
      broker,
      url,
      async close() {
        await app.close();
        await broker?.stop();
      },
    };
  } catch (err) {
    await broker?.stop();
    throw err;
  }
}

/** Binds `host:port` and lets it go again: throws what `listenProblem` makes of a refusal. */
async function checkListenable(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, host, resolve);
    });
  } catch (err) {
    throw listenProblem(err, host, port);
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** A failed `listen` as one line naming PORT and HOST, for the errors a setting causes; others as they are. */
function listenProblem(err: unknown, host: string, port: number): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new ConfigError(`cannot listen on ${where}: the address is in use (EADDRINUSE); set PORT to a free port (PORT=0 picks one) or stop what listens there`);
  }
  if (code === 'EACCES') {
    return new ConfigError(`cannot listen on ${where}: permission denied (EACCES); ports below 1024 need privileges, set PORT to 1024 or above`);
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new ConfigError(`cannot listen on ${where}: HOST '${host}' is not an address of this machine (${code}); set HOST to one (127.0.0.1, or 0.0.0.0 for every interface)`);
  }
  return err;
}
