/**
 * CPU time of idle kafkajs connections, with kafkajs's request queue as released and as `KafkajsTransport`
 * fixes it (see libs/core/src/transport/kafkajs-request-queue.ts).
 *
 *   npm run bench:idle            (RUNS=5 PRODUCERS=8 IDLE_MS=3000 to change the defaults)
 *
 * Each run forks two child processes, one per variant, in alternating order; each connects PRODUCERS kafkajs
 * producers to an embedded broker in the same process, sends one record with each, then sits idle for
 * IDLE_MS and reports the process's CPU time over that wait (`process.cpuUsage()`). Figures are medians of
 * RUNS runs; the ratio is the median of the per-run ratios.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkajsTransport } from '@kafka-nest/core';
import { Kafka, logLevel } from 'kafkajs';

const RUNS = Number(process.env.RUNS ?? 5);
const PRODUCERS = Number(process.env.PRODUCERS ?? 8);
const IDLE_MS = Number(process.env.IDLE_MS ?? 3000);

type Variant = 'kafkajs' | 'fixed';

/** In the child: idle CPU time in ms of PRODUCERS connected producers over IDLE_MS. */
async function measure(variant: Variant): Promise<number> {
  if (variant === 'fixed') new KafkajsTransport();
  const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const producers = await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'idle', messages: [{ value: 'x' }] });
      return producer;
    }),
  );
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const used = process.cpuUsage(before);
  await Promise.all(producers.map((p) => p.disconnect()));
  await broker.stop();
  return (used.user + used.system) / 1000;
}

function child(variant: Variant): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), [variant], { execArgv: process.execArgv });
    proc.on('message', (m) => resolve(m as number));
    proc.on('exit', (code) => code !== 0 && reject(new Error(`bench child (${variant}) exited with ${code}`)));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const arg = process.argv[2] as Variant | undefined;
if (arg) {
  process.send!(await measure(arg));
} else {
  const asIs: number[] = [];
  const fixed: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const order: Variant[] = run % 2 ? ['fixed', 'kafkajs'] : ['kafkajs', 'fixed'];
    const got: Record<Variant, number> = { kafkajs: 0, fixed: 0 };
    for (const v of order) got[v] = await child(v);
    asIs.push(got.kafkajs);
    fixed.push(got.fixed);
    ratios.push(got.kafkajs / Math.max(got.fixed, 0.001));
    console.log(`run ${run + 1}: kafkajs as released ${got.kafkajs.toFixed(1)} ms, fixed ${got.fixed.toFixed(1)} ms`);
  }
  console.log(
    `idle CPU over ${IDLE_MS} ms with ${PRODUCERS} connected producers (median of ${RUNS}): kafkajs as released ${median(asIs).toFixed(1)} ms, ` +
      `fixed ${median(fixed).toFixed(1)} ms, ratio ${median(ratios).toFixed(1)}x`,
  );
}
