/**
 * The kafka-nest sample application: `npm start`.
 *   - no KAFKA_BROKERS: starts the embedded broker in-process and a demo producer;
 *   - KAFKA_BROKERS=host:9092,...: runs against that cluster (DEMO=true to send demo orders there too).
 * HTTP: POST /orders, GET /metrics (Prometheus), GET /health, GET /kafka (the kafka-nest console).
 */
import 'reflect-metadata';
import { bootstrap } from './bootstrap.js';
import { ConfigError, readConfig } from './config.js';

try {
  const running = await bootstrap(readConfig());
  console.log(`kafka-nest sample listening on ${running.url}: POST /orders, GET /metrics, GET /health, console at /kafka (Ctrl-C to stop)`);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(err instanceof ConfigError ? `error: ${err.message}` : err);
  process.exit(1);
}
