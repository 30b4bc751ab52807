import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { type AppConfig, ConfigError } from './config.js';
import { AppModule } from './app.module.js';
import { kafkaProblemAt } from './ops/kafka-probe.js';
import { startTracing } from './ops/tracing.js';

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
  const tracing = await startTracing(config.tracesExporter ?? 'none');
  try {
    const app = await NestFactory.create(
      AppModule.forConfig({ brokers, embedded: !!broker, demo: config.demo, progressIntervalMs: options.progressIntervalMs ?? 2000 }),
      options.logger === false ? { logger: false } : { logger: ['log', 'warn', 'error'] },
    );
    await app.listen(config.port, config.host ?? '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return {
      app,
      broker,
      url,
      async close() {
        await app.close();
        await tracing?.shutdown();
        await broker?.stop();
      },
    };
  } catch (err) {
    await tracing?.shutdown();
    await broker?.stop();
    throw err;
  }
}
