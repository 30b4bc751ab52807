/**
 * @KafkaListener throughput against raw kafkajs, in one run, on the same embedded broker and data.
 *
 *   npm run bench:listener            (RECORDS=50000 RUNS=5 PARTITIONS=2 to change the defaults)
 *
 * Record mode: a @KafkaListener with default settings (BATCH ack mode: a commit after each fetch and every
 * 500 records) against kafkajs `eachMessage` (autoCommit: a commit after each fetch). Batch mode: a
 * `batch: true` listener taking whole fetches, as kafkajs `eachBatch` does, against `eachBatch`; the
 * figure with Spring's default `max.poll.records` (500) is printed too. Both sides JSON-parse every value, read from the beginning with a fresh group, and
 * are timed from the first record handled to the last. Rates are medians of RUNS runs; ratios are medians
 * of the ratios of adjacent runs (ours right after kafkajs), so that both sides see the same machine load.
 */
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkaListener, KafkaModule, KafkaTemplate, Payload } from '@kafka-nest/core';

const RECORDS = Number(process.env.RECORDS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 7);
const PARTITIONS = Number(process.env.PARTITIONS ?? 2);
const TOPIC = 'bench';
const SESSION = { sessionTimeout: 45_000, heartbeatInterval: 3_000 };

let run = 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Counts records; resolves with records/second between the first and the last. */
class Meter {
  private count = 0;
  private first = 0;
  private resolve!: (rate: number) => void;
  readonly done = new Promise<number>((r) => (this.resolve = r));

  hit(n = 1): void {
    if (this.count === 0) this.first = performance.now();
    this.count += n;
    if (this.count >= RECORDS) this.resolve((RECORDS / (performance.now() - this.first)) * 1000);
  }
}

let meter: Meter;

/** Listener classes are made per run, so that each run reads with a fresh group. */
function listenerClass(id: 'record' | 'batch' | 'batch500', groupId: string) {
  if (id === 'record') {
    @Injectable()
    class RecordListener {
      @KafkaListener({ id, groupId, topics: [TOPIC], fromBeginning: true })
      onRecord(@Payload() value: { i: number }) {
        if (value.i >= 0) meter.hit();
      }
    }
    return RecordListener;
  }
  // kafkajs has no max.poll.records: raw eachBatch gets whole fetches. 'batch' matches that by letting a
  // listener call take a whole fetch too; 'batch500' keeps Spring's default of 500 records per call (and
  // per commit), shown for reference.
  const maxPollRecords = id === 'batch' ? 1_000_000 : 500;
  @Injectable()
  class BatchListener {
    @KafkaListener({ id, groupId, topics: [TOPIC], fromBeginning: true, batch: true, properties: { 'max.poll.records': maxPollRecords } })
    onBatch(@Payload() values: { i: number }[]) {
      meter.hit(values.length);
    }
  }
  return BatchListener;
}

async function nestRun(broker: EmbeddedKafkaBroker, id: 'record' | 'batch' | 'batch500'): Promise<number> {
  meter = new Meter();
  const module = await Test.createTestingModule({
    imports: [
      KafkaModule.forRoot({
        client: { brokers: broker.brokers, clientId: 'bench' },
        properties: { 'session.timeout.ms': SESSION.sessionTimeout, 'heartbeat.interval.ms': SESSION.heartbeatInterval },
      }),
    ],
    providers: [listenerClass(id, `${id}-${++run}`)],
  }).compile();
  module.useLogger(false);
  const app: INestApplicationContext = await module.init();
  const rate = await meter.done;
  await app.close();
  return rate;
}

async function rawRun(broker: EmbeddedKafkaBroker, mode: 'eachMessage' | 'eachBatch'): Promise<number> {
  meter = new Meter();
  const kafka = new Kafka({ brokers: broker.brokers, clientId: 'bench-raw', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `raw-${mode}-${++run}`, ...SESSION });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run(
    mode === 'eachMessage'
      ? {
          partitionsConsumedConcurrently: PARTITIONS,
          eachMessage: async ({ message }) => {
            const value = JSON.parse(message.value!.toString()) as { i: number };
            if (value.i >= 0) meter.hit();
          },
        }
      : {
          partitionsConsumedConcurrently: PARTITIONS,
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            const values = batch.messages.map((m) => JSON.parse(m.value!.toString()) as { i: number });
            meter.hit(values.length);
            resolveOffset(batch.lastOffset());
            await heartbeat();
          },
        },
  );
  const rate = await meter.done;
  await consumer.disconnect();
  return rate;
}

async function main() {
  const broker = await EmbeddedKafkaBroker.start({ topics: [{ name: TOPIC, partitions: PARTITIONS }], logger: silentLogger });
  const producer = await Test.createTestingModule({ imports: [KafkaModule.forRoot({ client: { brokers: broker.brokers } })] }).compile();
  producer.useLogger(false);
  await producer.init();
  const template = producer.get(KafkaTemplate);
  const payload = 'x'.repeat(64);
  for (let start = 0; start < RECORDS; start += 1000) {
    await template.sendBatch(TOPIC, Array.from({ length: Math.min(1000, RECORDS - start) }, (_, k) => ({ value: { i: start + k, payload }, partition: (start + k) % PARTITIONS })));
  }
  await producer.close();
  console.log(`${RECORDS} records of ~100 bytes on ${PARTITIONS} partition(s); median of ${RUNS} runs each`);

  const rates = { listener: [] as number[], eachMessage: [] as number[], batchListener: [] as number[], eachBatch: [] as number[], batch500: [] as number[] };
  // One warm-up of each, not counted.
  await rawRun(broker, 'eachMessage');
  await nestRun(broker, 'record');
  await rawRun(broker, 'eachBatch');
  await nestRun(broker, 'batch');
  for (let r = 0; r < RUNS; r++) {
    rates.eachMessage.push(await rawRun(broker, 'eachMessage'));
    rates.listener.push(await nestRun(broker, 'record'));
    rates.eachBatch.push(await rawRun(broker, 'eachBatch'));
    rates.batchListener.push(await nestRun(broker, 'batch'));
    rates.batch500.push(await nestRun(broker, 'batch500'));
  }
  await broker.stop();

  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} rec/s`;
  // Each run of ours follows a run of kafkajs: the median of the paired ratios resists drifting machine load.
  const paired = (ours: number[], raw: number[]) => median(ours.map((o, i) => o / raw[i]));
  const rec = paired(rates.listener, rates.eachMessage);
  const bat = paired(rates.batchListener, rates.eachBatch);
  const b500 = paired(rates.batch500, rates.eachBatch);
  console.log(`record mode  kafkajs eachMessage ${fmt(median(rates.eachMessage))}  @KafkaListener ${fmt(median(rates.listener))}  ratio ${rec.toFixed(2)}x (target >= 0.95x)`);
  console.log(`batch mode   kafkajs eachBatch   ${fmt(median(rates.eachBatch))}  @KafkaListener(batch) ${fmt(median(rates.batchListener))}  ratio ${bat.toFixed(2)}x (target >= 1.00x)`);
  console.log(`             with max.poll.records = 500 (a call and a commit per 500 records): ${fmt(median(rates.batch500))}, ${b500.toFixed(2)}x`);
}

await main();
