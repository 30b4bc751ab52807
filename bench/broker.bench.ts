/**
 * The embedded broker's own figures: start-to-ready time, and kafkajs produce and consume throughput
 * against it, with the broker's share of CPU time.
 *
 *   npm run bench:broker          (RUNS=5 START_RUNS=7 RECORDS_100=100000 RECORDS_1K=50000 to change the defaults)
 *
 * Start-to-ready: `EmbeddedKafkaBroker.start()` until it resolves (every node listening), in this process,
 * after one warm-up start; median of START_RUNS.
 *
 * Throughput: the broker runs alone in a child process (bench/broker-process.ts) so its CPU time
 * (`process.cpuUsage()`) and event-loop utilisation can be told apart from the client's (this process).
 * Each run creates a fresh 3-partition topic; a kafkajs producer sends the records in batches of 1000 per
 * `send` with acks -1, awaiting each; then two fresh consumer groups read the topic from the beginning,
 * one with `eachBatch`, one with `eachMessage` (kafkajs defaults otherwise, auto-commit on), timed from the
 * group join to the last record. Rates are medians of RUNS runs; CPU figures are medians too.
 * "broker CPU" and "client CPU" are CPU time over wall time (100% = one core busy); "broker share" is the
 * broker's part of the two; "broker ELU" is the busy fraction of the broker's event loop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { Kafka, logLevel } from 'kafkajs';
import type { BrokerRequest, BrokerUsage } from './broker-process.js';

const RUNS = Number(process.env.RUNS ?? 5);
const START_RUNS = Number(process.env.START_RUNS ?? 7);
const SIZES = [
  { label: '100 B', bytes: 100, records: Number(process.env.RECORDS_100 ?? 100_000) },
  { label: '1 KiB', bytes: 1024, records: Number(process.env.RECORDS_1K ?? 50_000) },
];
const BATCH = 1000;
const PARTITIONS = 3;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- start-to-ready ------------------------------------------------------------------------------

async function startToReady(): Promise<{ cold: number; times: number[] }> {
  const once = async () => {
    const t0 = performance.now();
    const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    const elapsed = performance.now() - t0;
    await broker.stop();
    return elapsed;
  };
  const cold = await once();
  const times: number[] = [];
  for (let i = 0; i < START_RUNS; i++) times.push(await once());
  return { cold, times };
}

// ---- the broker in a child process ---------------------------------------------------------------

class BrokerProcess {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: any) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly brokers: string[],
  ) {
    child.on('message', (m: { id?: number }) => {
      if (m.id === undefined) return;
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    });
  }

  static start(): Promise<BrokerProcess> {
    const child = fork(fileURLToPath(new URL('./broker-process.ts', import.meta.url)), {
      execArgv: ['--import', '@swc-node/register/esm-register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the broker process exited with ${code} before it was ready`)));
      child.on('message', (m: { type?: string; brokers?: string[] }) => {
        if (m.type === 'ready') resolve(new BrokerProcess(child, m.brokers!));
      });
    });
  }

  request<T = unknown>(command: BrokerRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...command, id });
    });
  }

  usage(): Promise<BrokerUsage> {
    return this.request<BrokerUsage>({ cmd: 'usage' });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ cmd: 'stop' });
    await exited;
  }
}

// ---- throughput ----------------------------------------------------------------------------------

interface Sample {
  readonly rate: number; // records/s
  readonly brokerCpu: number; // CPU time / wall time
  readonly clientCpu: number;
  readonly brokerElu: number;
}

/** Runs `body` and measures wall time, the broker's and this process's CPU time, and the broker's ELU. */
async function measure(broker: BrokerProcess, records: number, body: () => Promise<void>, start?: () => Promise<void>): Promise<Sample> {
  if (start) await start();
  const b0 = await broker.usage();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const wall = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const b1 = await broker.usage();
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  const active = b1.elu.active - b0.elu.active;
  const idle = b1.elu.idle - b0.elu.idle;
  return {
    rate: (records / wall) * 1000,
    brokerCpu: (cpuMs(b1.cpu) - cpuMs(b0.cpu)) / wall,
    clientCpu: cpuMs(c1) / wall,
    brokerElu: active / (active + idle),
  };
}

async function produceRun(kafka: Kafka, broker: BrokerProcess, topic: string, bytes: number, records: number): Promise<Sample> {
  const payload = randomBytes(bytes);
  const messages = Array.from({ length: BATCH }, () => ({ value: payload }));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // One warm-up send fills kafkajs's metadata cache; it is not counted.
  await producer.send({ topic, acks: -1, messages: messages.slice(0, 1) });
  try {
    return await measure(broker, records, async () => {
      for (let sent = 0; sent < records; sent += BATCH) {
        await producer.send({ topic, acks: -1, messages: sent + BATCH <= records ? messages : messages.slice(0, records - sent) });
      }
    });
  } finally {
    await producer.disconnect();
  }
}

async function consumeRun(kafka: Kafka, broker: BrokerProcess, topic: string, records: number, mode: 'eachBatch' | 'eachMessage', groupId: string): Promise<Sample> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let bytes = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  try {
    return await measure(
      broker,
      records,
      async () => finished,
      async () => {
        // The clock starts at the group join: joining is the group handlers' business, not throughput.
        await consumer.run(
          mode === 'eachBatch'
            ? {
                eachBatch: async ({ batch }) => {
                  for (const m of batch.messages) bytes += m.value?.length ?? 0;
                  count += batch.messages.length;
                  if (count >= records) done();
                },
              }
            : {
                eachMessage: async ({ message }) => {
                  bytes += message.value?.length ?? 0;
                  if (++count >= records) done();
                },
              },
        );
        await joined;
      },
    );
  } finally {
    await consumer.disconnect();
    if (bytes === 0) throw new Error('consumed no bytes');
  }
}

// ---- report --------------------------------------------------------------------------------------

const pct = (x: number) => `${Math.round(x * 100)}%`;
const num = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  const began = performance.now();
  console.log(`kafka-nest embedded broker benchmark: node ${process.version}, ${process.platform} ${process.arch}, ${availableParallelism()} CPUs`);
  console.log(`command: npm run bench:broker   (RUNS=${RUNS} START_RUNS=${START_RUNS} RECORDS_100=${SIZES[0].records} RECORDS_1K=${SIZES[1].records})\n`);

  const start = await startToReady();
  const startMedian = median(start.times);
  console.log(
    `start-to-ready  EmbeddedKafkaBroker.start(): median ${startMedian.toFixed(2)} ms over ${START_RUNS} runs ` +
      `(min ${Math.min(...start.times).toFixed(2)}, max ${Math.max(...start.times).toFixed(2)}; first start in this process ${start.cold.toFixed(2)} ms)` +
      `  target < 10 ms: ${startMedian < 10 ? 'met' : 'MISSED'}\n`,
  );

  const broker = await BrokerProcess.start();
  const kafka = new Kafka({ brokers: broker.brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
  const rows: { name: string; bytes: number; samples: Sample[] }[] = [];
  try {
    for (const size of SIZES) {
      const produce: Sample[] = [];
      const batch: Sample[] = [];
      const message: Sample[] = [];
      for (let run = 0; run < RUNS; run++) {
        const topic = `bench-${size.bytes}-${run}`;
        await broker.request({ cmd: 'createTopic', topic, partitions: PARTITIONS });
        produce.push(await produceRun(kafka, broker, topic, size.bytes, size.records));
        // The warm-up record is on the topic too.
        batch.push(await consumeRun(kafka, broker, topic, size.records + 1, 'eachBatch', `${topic}-batch`));
        message.push(await consumeRun(kafka, broker, topic, size.records + 1, 'eachMessage', `${topic}-message`));
        await broker.request({ cmd: 'deleteTopic', topic });
      }
      rows.push(
        { name: `produce ${size.label} (1000/send, acks -1)`, bytes: size.bytes, samples: produce },
        { name: `consume ${size.label} (eachBatch)`, bytes: size.bytes, samples: batch },
        { name: `consume ${size.label} (eachMessage)`, bytes: size.bytes, samples: message },
      );
    }
  } finally {
    await broker.stop();
  }

  const header = ['kafkajs against the broker', 'records/s', 'MB/s', 'broker CPU', 'client CPU', 'broker share', 'broker ELU'];
  const table = rows.map(({ name, bytes, samples }) => {
    const rate = median(samples.map((s) => s.rate));
    return [
      name,
      num(rate),
      ((rate * bytes) / 1e6).toFixed(1),
      pct(median(samples.map((s) => s.brokerCpu))),
      pct(median(samples.map((s) => s.clientCpu))),
      pct(median(samples.map((s) => s.brokerCpu / (s.brokerCpu + s.clientCpu)))),
      pct(median(samples.map((s) => s.brokerElu))),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const r of table) console.log(line(r));
  const consume100 = median(rows[1].samples.map((s) => s.rate));
  console.log(
    `\nmedians of ${RUNS} runs, 3 partitions; CPU = CPU time / wall time (100% = one core).` +
      `  consume 100 B target >= 100,000 records/s: ${consume100 >= 100_000 ? 'met' : 'MISSED'} (eachBatch)`,
  );
  console.log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
}

await main();
