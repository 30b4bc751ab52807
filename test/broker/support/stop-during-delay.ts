/**
 * Child-process script for faults.test.ts: starts a broker, holds a Produce with a long fault delay, stops
 * the broker mid-delay and returns without calling process.exit. The process must then exit by itself:
 * nothing the broker left behind (such as the delay's timer) may keep it alive.
 */
import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '../../../libs/broker/src/index.js';
import type { Writer } from '../../../libs/broker/src/protocol/writer.js';
import { RawClient, requestFrame } from '../raw-client.js';
import { encodeBatch } from './record-batch.js';
import { waitFor } from './wait.js';

const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'held' }] });
const fault = broker.injectFault({ apiKey: ApiKey.Produce, delayMs: 60_000 });
const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
const body = (w: Writer) => {
  w.nullableString(null).int16(1).int32(30_000);
  w.array(['held'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).bytes(encodeBatch([{ value: 'held' }]))));
};
raw.send(requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body }, 1));
await waitFor(() => fault.hits === 1, 5000, 'the produce to meet the delay');
await broker.stop();
await raw.closed;
console.log('stopped');
