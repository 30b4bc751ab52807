/**
 * JoinGroup v0 has no rebalance timeout: the broker uses the session timeout in its place, as Kafka does,
 * so a v0 member has that long to send SyncGroup and is not dropped on the spot.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { RawClient } from './raw-client.js';

let broker: EmbeddedKafkaBroker;
let raw: RawClient;

beforeAll(async () => {
  broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'v0-topic', partitions: 1 }] });
  raw = await RawClient.connect(Number(broker.nodes[0].address.split(':')[1]));
});

afterAll(async () => {
  raw?.close();
  await broker?.stop();
});

it('a JoinGroup v0 member gets the session timeout as rebalance timeout and completes its SyncGroup', async () => {
  const join = await raw.request({
    apiKey: ApiKey.JoinGroup,
    apiVersion: 0,
    body: (w) => w.string('v0-group').int32(7000).string('').string('consumer').array([0], (w) => w.string('range').bytes(Buffer.from([0, 0, 0, 0, 0, 0]))),
  });
  const [errorCode, generationId] = [join.int16(), join.int32()];
  join.string();
  join.string();
  const memberId = join.string();
  expect(errorCode).toBe(0);
  expect(broker.describeGroup('v0-group')?.members).toEqual([expect.objectContaining({ memberId, sessionTimeoutMs: 7000, rebalanceTimeoutMs: 7000 })]);

  // A round trip through the broker's event loop: a zero rebalance timeout would have dropped the member by now.
  await raw.request({ apiKey: ApiKey.ApiVersions, apiVersion: 0 });
  const sync = await raw.request({
    apiKey: ApiKey.SyncGroup,
    apiVersion: 0,
    body: (w) => w.string('v0-group').int32(generationId).string(memberId).array([memberId], (w, id) => w.string(id).bytes(Buffer.from('assigned'))),
  });
  expect(sync.int16()).toBe(0);
  expect(sync.bytes().toString()).toBe('assigned');
  expect(broker.describeGroup('v0-group')).toMatchObject({ state: 'Stable', members: [expect.objectContaining({ memberId })] });
});
