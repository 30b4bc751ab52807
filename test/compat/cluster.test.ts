/**
 * A three-node standalone cluster (`npm run broker -- --brokers 3`) seen by the Debian clients: kcat's
 * metadata shows every node and the partitions' leaders spread over them, and kcat, kafka-python and
 * confluent-kafka-python each read every record in a group, fetching from each partition's leader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcat, type PythonConsumeResult, python, type StandaloneBroker, startStandaloneBroker, unb64 } from './support/clients.js';
import { parseKcatJson } from './support/kcat-format.js';

describe('a three-node standalone cluster', () => {
  let cluster: StandaloneBroker;
  const values = Array.from({ length: 30 }, (_, i) => `v-${i}`);

  beforeAll(async () => {
    cluster = await startStandaloneBroker(['--port', '0', '--brokers', '3', '--topic', 'spread:3']);
    await kcat(['-b', cluster.brokers[0], '-P', '-t', 'spread', '-K', ':'], { input: values.map((v, i) => `k-${i}:${v}\n`).join('') });
  });

  afterAll(async () => {
    expect(await cluster?.stop('SIGINT')).toBe(0);
  });

  it('reports every node and spreads partition leadership over them (kcat -L)', async () => {
    const metadata = JSON.parse((await kcat(['-b', cluster.brokers[0], '-L', '-J', '-t', 'spread'])).toString()) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    expect(metadata.brokers.map((b) => b.name).sort()).toEqual([...cluster.brokers].sort());
    expect(metadata.topics[0].partitions.map((p) => p.leader).sort()).toEqual([0, 1, 2]);
  });

  it('kcat -G reads every record', async () => {
    const records = parseKcatJson(await kcat(['-b', cluster.brokers[1], '-G', 'spread-kcat', '-X', 'auto.offset.reset=earliest', '-e', '-J', 'spread']));
    expect(records.map((r) => r.payload).sort()).toEqual([...values].sort());
  });

  it.each(['kafka_python', 'confluent'] as const)('%s reads every record in a group', async (client) => {
    const { records } = await python<PythonConsumeResult>(client, { op: 'consume', bootstrap: cluster.brokers[2], topic: 'spread', group: `spread-${client}`, count: values.length });
    expect(records.map((r) => unb64(r.value)!.toString()).sort()).toEqual([...values].sort());
    expect(new Set(records.map((r) => r.partition)).size).toBe(3);
  });
});
