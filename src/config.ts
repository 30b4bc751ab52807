/** The sample application's settings, read from the environment once at start-up. */
import type { TracesExporter } from './ops/tracing.js';

export interface AppConfig {
  /** Kafka bootstrap servers; undefined = start the embedded broker in-process. */
  readonly brokers?: string[];
  /** HTTP port. */
  readonly port: number;
  /** Address the HTTP server listens on. @default '127.0.0.1' */
  readonly host?: string;
  /** Send a stream of demo orders. */
  readonly demo: boolean;
  /** Where spans go: 'console' prints them; 'none' records none. @default 'none' */
  readonly tracesExporter?: TracesExporter;
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/** A start-up problem a user can fix from the message alone. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads `KAFKA_BROKERS` (comma-separated `host:port`; unset starts the embedded broker, set but empty is
 * refused), `PORT` (default 3000), `HOST` (the HTTP address, default 127.0.0.1; 0.0.0.0 to be scraped from another
 * host or a container) and `DEMO` (`true`/`false`; default on with the embedded broker, off
 * against a real cluster) and `OTEL_TRACES_EXPORTER` (`console` prints every span; default `none`).
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw = env.KAFKA_BROKERS?.trim();
  if (raw === '') {
    // Set but empty is most often a variable that did not expand (KAFKA_BROKERS=$BROKERS): running on a
    // broker of our own would hide that.
    throw new ConfigError(
      'KAFKA_BROKERS is set but empty; give host:port,host:port (e.g. KAFKA_BROKERS=kafka-1:9092,kafka-2:9092), or unset it to start the embedded broker',
    );
  }
  let brokers: string[] | undefined;
  if (raw !== undefined) {
    brokers = raw.split(',').map((b) => b.trim());
    const bad = brokers.find((b) => !HOST_PORT.test(b) || Number(b.split(':')[1]) > 65535);
    if (bad !== undefined) {
      throw new ConfigError(`KAFKA_BROKERS has '${bad}', which is not host:port; expected a comma-separated list such as KAFKA_BROKERS=kafka-1:9092,kafka-2:9092`);
    }
  }
  const port = env.PORT === undefined ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a number from 0 to 65535, got '${env.PORT}'`);
  const demo = env.DEMO === undefined ? brokers === undefined : env.DEMO === 'true' || env.DEMO === '1';
  if (env.DEMO !== undefined && !['true', 'false', '1', '0'].includes(env.DEMO)) {
    throw new ConfigError(`DEMO must be true or false, got '${env.DEMO}'`);
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError(`HOST must be a host name or an IP address (e.g. 0.0.0.0), got '${env.HOST}'`);
  const tracesExporter = (env.OTEL_TRACES_EXPORTER?.trim() || 'none') as TracesExporter;
  if (tracesExporter !== 'console' && tracesExporter !== 'none') {
    throw new ConfigError(`OTEL_TRACES_EXPORTER must be console (print every span) or none, got '${env.OTEL_TRACES_EXPORTER}'`);
  }
  return { brokers, port, host, demo, tracesExporter };
}
