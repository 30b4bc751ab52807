/**
 * @KafkaListener throughput against raw kafkajs, in one run, on the same embedded broker and data.
 *
 *   npm run bench:listener            (RECORDS=200000 RUNS=15 PARTITIONS=2 to change the defaults; about 40 s)
 *
 * Also printed: process CPU time per record (broker included), as a median per mode; on a busy machine it is
 * steadier than throughput, and it separates CPU cost from waiting.
 *
 * Record mode: a @KafkaListener with default settings (BATCH ack mode: a commit after each fetch and every
 * 500 records) against kafkajs `eachMessage` (autoCommit: a commit after each fetch). Batch mode: a
 * `batch: true` listener taking whole fetches, as kafkajs `eachBatch` does, against `eachBatch`; the
 * figure with Spring's default `max.poll.records` (500) is printed too. Both sides do the same observable
 * work: JSON-parse every value, read from the beginning with a fresh group, commit synchronously after
 * each fetch (ours in BATCH ack mode, kafkajs by autoCommit, which awaits its commit before the next
 * batch; counted at the broker, both send the same number of OffsetCommit requests, 20 for 200,000
 * records in batch mode). The broker runs in this process, so its work weighs on both sides alike.
 *
 * Timing: from the end of the first listener call to the end of the last, counting only the records
 * handled in between (the first call's records are not counted: their work happened before the clock
 * started). Rates are medians of RUNS runs; ratios are medians of the ratios of paired runs (one of ours,
 * one of kafkajs, in alternating order), so that both sides see the same machine load and neither always
 * runs second.
 *
 * Changed (methodology): the clock used to start at the first call but count that call's records too.
 * kafkajs hands over fetches of ~10,500 such records per partition, so with 50,000 records the first
 * call's records were a fifth of the total, counted for free, and a run lasted some 60 ms: ratios swung
 * from 0.6x to 1.4x between identical runs. Hence also 200,000 records by default (about 10 fetches per
 * partition, runs of a few hundred ms), and the alternating order (ours always ran right after kafkajs).
 * Later, 15 pairs by default instead of 7: a single pair still swings by ±20 % with where garbage
 * collections fall, and 7-pair medians of identical code ranged over 0.94-1.01x in batch mode.
 */
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkaListener, KafkaModule, Payload } from '@kafka-nest/core';
import { Meter, median, seedBenchTopic } from './support/bench-kit.js';

const RECORDS = Number(process.env.RECORDS ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 15);
const PARTITIONS = Number(process.env.PARTITIONS ?? 2);
const TOPIC = 'bench';
const SESSION = { sessionTimeout: 45_000, heartbeatInterval: 3_000 };

let run = 0;
/** CPU µs per record of every counted run, by mode: steadier than throughput on a busy machine. */
const cpu: Record<string, number[]> = {};
const noteCpu = (mode: string) => (cpu[mode] ??= []).push(meter.cpuPerRecordUs);
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
  meter = new Meter(RECORDS);
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
  noteCpu(id);
  await app.close();
  return rate;
}

async function rawRun(broker: EmbeddedKafkaBroker, mode: 'eachMessage' | 'eachBatch'): Promise<number> {
  meter = new Meter(RECORDS);
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
  noteCpu(mode);
  await consumer.disconnect();
  return rate;
}

async function main() {
  const broker = await EmbeddedKafkaBroker.start({ topics: [{ name: TOPIC, partitions: PARTITIONS }], logger: silentLogger });
  await seedBenchTopic(broker, TOPIC, RECORDS, PARTITIONS);
  console.log(`${RECORDS} records of ~100 bytes on ${PARTITIONS} partition(s); median of ${RUNS} runs each`);

  const rates = { listener: [] as number[], eachMessage: [] as number[], batchListener: [] as number[], eachBatch: [] as number[], batch500: [] as number[] };
  // One warm-up of each, not counted.
  await rawRun(broker, 'eachMessage');
  await nestRun(broker, 'record');
  await rawRun(broker, 'eachBatch');
  await nestRun(broker, 'batch');
  // Pairs in alternating order: kafkajs first in even runs, ours first in odd ones.
  const pair = async <A, B>(a: () => Promise<A>, b: () => Promise<B>, aFirst: boolean): Promise<[A, B]> => {
    if (aFirst) {
      const x = await a();
      return [x, await b()];
    }
    const y = await b();
    return [await a(), y];
  };
  for (let r = 0; r < RUNS; r++) {
    const rawFirst = r % 2 === 0;
    const [eachMessage, listener] = await pair(() => rawRun(broker, 'eachMessage'), () => nestRun(broker, 'record'), rawFirst);
    rates.eachMessage.push(eachMessage);
    rates.listener.push(listener);
    const [eachBatch, batchListener] = await pair(() => rawRun(broker, 'eachBatch'), () => nestRun(broker, 'batch'), rawFirst);
    rates.eachBatch.push(eachBatch);
    rates.batchListener.push(batchListener);
    rates.batch500.push(await nestRun(broker, 'batch500'));
  }
  await broker.stop();

  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} rec/s`;
  // Each run of ours is paired with a run of kafkajs next to it: the median of the paired ratios resists drifting machine load.
  const paired = (ours: number[], raw: number[]) => median(ours.map((o, i) => o / raw[i]));
  const spread = (ours: number[], raw: number[]) => {
    const r = ours.map((o, i) => o / raw[i]).sort((a, b) => a - b);
    return `pairs ${r[0].toFixed(2)}-${r[r.length - 1].toFixed(2)}x`;
  };
  const rec = paired(rates.listener, rates.eachMessage);
  const bat = paired(rates.batchListener, rates.eachBatch);
  const b500 = paired(rates.batch500, rates.eachBatch);
  console.log(`record mode  kafkajs eachMessage ${fmt(median(rates.eachMessage))}  @KafkaListener ${fmt(median(rates.listener))}  ratio ${rec.toFixed(2)}x (target >= 0.95x; ${spread(rates.listener, rates.eachMessage)})`);
  console.log(`batch mode   kafkajs eachBatch   ${fmt(median(rates.eachBatch))}  @KafkaListener(batch) ${fmt(median(rates.batchListener))}  ratio ${bat.toFixed(2)}x (target >= 1.00x; ${spread(rates.batchListener, rates.eachBatch)})`);
  console.log(`             with max.poll.records = 500 (a call and a commit per 500 records): ${fmt(median(rates.batch500))}, ${b500.toFixed(2)}x`);
  const us = (mode: string) => median(cpu[mode]);
  console.log(
    `CPU per record (process, broker included; medians): eachMessage ${us('eachMessage').toFixed(2)} µs, @KafkaListener ${us('record').toFixed(2)} µs (${(us('eachMessage') / us('record')).toFixed(2)}x); ` +
      `eachBatch ${us('eachBatch').toFixed(2)} µs, @KafkaListener(batch) ${us('batch').toFixed(2)} µs (${(us('eachBatch') / us('batch')).toFixed(2)}x)`,
  );
}

await main();
