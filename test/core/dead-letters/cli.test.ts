/**
 * The `kafka-nest dlt` CLI as an operator runs it: a child process against the standalone embedded broker
 * (itself a child process, `npm run broker`), on dead letters written with Spring's `kafka_dlt-*` headers.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const brokerCli = fileURLToPath(new URL('../../../libs/broker/src/cli.ts', import.meta.url));
const kafkaNest = fileURLToPath(new URL('../../../libs/core/src/bin/kafka-nest.ts', import.meta.url));

function run(entry: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', entry, ...args], { cwd: root, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, exit, stdout: () => stdout };
}

const cli = (...args: string[]) => run(kafkaNest, args).exit;

let broker: ReturnType<typeof run>;
let bootstrap: string;
const long = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const int = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

beforeAll(async () => {
  broker = run(brokerCli, ['--port', '0', '--topic', 'orders:2', '--topic', 'orders.DLT:2']);
  bootstrap = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /^bootstrap: (\S+)$/m.exec(broker.stdout());
      if (m) resolve(m[1]);
    };
    broker.child.stdout.on('data', check);
    void broker.exit.then((e) => reject(new Error(`broker exited ${e.code}: ${e.stderr}`)));
  });
  const producer = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  // kafka-nest's layout names the listener wrapper in -fqcn and the class thrown in -cause-fqcn; Spring
  // applications before 2.8 wrote the class thrown in -fqcn alone. The EXCEPTION column shows the class thrown.
  const letter = (id: string, partition: number, offset: number, error: string, wrapped = false) => ({
    partition,
    key: `customer-${id}`,
    value: JSON.stringify({ id }),
    headers: {
      'trace-id': `trace-${id}`,
      'kafka_dlt-original-topic': 'orders',
      'kafka_dlt-original-partition': int(partition),
      'kafka_dlt-original-offset': long(offset),
      'kafka_dlt-original-timestamp': long(Date.now() - 60_000),
      'kafka_dlt-original-timestamp-type': 'CreateTime',
      'kafka_dlt-original-consumer-group': 'orders-service',
      'kafka_dlt-exception-fqcn': wrapped ? 'ListenerExecutionFailedError' : error,
      ...(wrapped && { 'kafka_dlt-exception-cause-fqcn': error }),
      'kafka_dlt-exception-message': `${error} on order ${id}`,
    },
  });
  await producer.send({
    topic: 'orders.DLT',
    messages: [letter('a', 0, 10, 'TimeoutError'), letter('b', 0, 11, 'ValidationError', true), letter('c', 1, 7, 'TimeoutError')],
  });
  await producer.disconnect();
}, 60_000);

afterAll(async () => {
  broker?.child.kill('SIGTERM');
  await broker?.exit;
});

describe('kafka-nest dlt', () => {
  it('topics and list: the dead-letter topics, then a table of dead letters with their origin and exception', async () => {
    const topics = await cli('dlt', 'topics', '--brokers', bootstrap);
    expect(topics).toMatchObject({ code: 0, stdout: 'orders.DLT\n' });

    const list = await cli('dlt', 'list', 'orders.DLT', '--brokers', bootstrap);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PARTITION\s+OFFSET\s+DEAD-LETTERED\s+STATUS\s+REPLAYS\s+ORIGINAL\s+EXCEPTION\s+MESSAGE\s+KEY\s+VALUE$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^0\s+0\s+\S+Z\s+pending\s+0\s+orders-0@10\s+TimeoutError\s+TimeoutError on order a\s+customer-a\s+\{"id":"a"\}$/);
    expect(lines[2]).toMatch(/^0\s+1\s.*orders-0@11\s+ValidationError\s+ValidationError on order b\s/);
    expect(lines[3]).toMatch(/^1\s+0\s.*orders-1@7\s+TimeoutError/);

    const json = await cli('dlt', 'list', 'orders.DLT', '--partition', '0', '--limit', '1', '--json', '--brokers', bootstrap);
    const letters = JSON.parse(json.stdout);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ partition: 0, offset: 0, keyText: 'customer-a', deserializedValue: { id: 'a' }, headers: { 'trace-id': 'trace-a' } });
    expect(letters[0].original).toMatchObject({ topic: 'orders', partition: 0, offset: 10, consumerGroup: 'orders-service' });
    const wrapped = JSON.parse((await cli('dlt', 'list', 'orders.DLT', '--partition', '0', '--from-offset', '1', '--limit', '1', '--json', '--brokers', bootstrap)).stdout);
    expect(wrapped[0].exception).toMatchObject({ className: 'ValidationError', causeClassName: 'ValidationError' });
  }, 120_000);

  it('replay --dry-run shows what would happen; replay sends the selected records back once; park moves one to orders.parking', async () => {
    const dry = await cli('dlt', 'replay', 'orders.DLT', '--exception-class', 'TimeoutError', '--dry-run', '--brokers', bootstrap);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would replay 2, park 0, skipped 1\n/);
    expect(dry.stdout).toMatch(/\n0\s+1\s+skipped\s+0\s+ValidationError\s+not selected by the filter\n/);

    const replay = await cli('dlt', 'replay', 'orders.DLT', '--exception-class', 'TimeoutError', '--brokers', bootstrap);
    expect(replay.stdout).toMatch(/^replayed 2, parked 0, skipped 1\n/);
    expect(replay.stdout).toMatch(/\n1\s+0\s+replayed\s+orders\s+0\s+TimeoutError\n?/);
    const again = await cli('dlt', 'replay', 'orders.DLT', '--exception-class', 'TimeoutError', '--brokers', bootstrap);
    expect(again.stdout).toMatch(/^replayed 0, parked 0, skipped 1\n.*\n0\s+1\s+skipped\s/s);

    const park = await cli('dlt', 'park', 'orders.DLT', '--records', '0@1', '--brokers', bootstrap);
    expect(park.stdout).toMatch(/^replayed 0, parked 1, skipped 0\n.*0\s+1\s+parked\s+orders.parking\s+0\s+ValidationError\s+parked on request/s);

    const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const offsets = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    expect(await offsets('orders')).toBe(2);
    expect(await offsets('orders.parking')).toBe(1);
    await admin.disconnect();
    const status = JSON.parse((await cli('dlt', 'list', 'orders.DLT', '--json', '--brokers', bootstrap)).stdout);
    expect(status.map((l: { status: string }) => l.status)).toEqual(['done', 'done', 'done']);
    expect(await cli('dlt', 'list', 'orders.DLT', '--pending', '--brokers', bootstrap)).toMatchObject({ code: 0, stdout: 'no dead letters\n' });
  }, 120_000);

  it('a command-line mistake exits 2 naming the flag; a missing topic exits 1 saying so', async () => {
    expect(await cli('dlt', 'replay', 'orders.DLT', '--original-offsets', 'x', '--brokers', bootstrap)).toMatchObject({
      code: 2,
      stderr: "kafka-nest: --original-offsets expects from-to, e.g. 100-200, 100- or -200, got 'x'; see kafka-nest --help\n",
    });
    expect(await cli('dlt', 'list', 'orders.DLT')).toMatchObject({ code: 2, stderr: expect.stringContaining('--brokers is required (or set KAFKA_BROKERS)') });
    expect(await cli('dlt', 'list', 'orders.DLT', '--dry-run', '--brokers', bootstrap)).toMatchObject({ code: 2, stderr: expect.stringContaining('--dry-run is for dlt replay and park') });
    expect(await cli('dlt', 'list', 'orders.DLT', '--bogus', '--brokers', bootstrap)).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
    expect(await cli('dlt', 'list', 'nope.DLT', '--brokers', bootstrap)).toMatchObject({ code: 1, stderr: expect.stringContaining("dead-letter topic 'nope.DLT' does not exist") });
  }, 120_000);
});
