/**
 * The cost of exactly once: a consume-transform-produce @KafkaListener (each record JSON-parsed and sent on
 * to an output topic through KafkaTemplate) with transactions (`transactionIdPrefix`: a transaction per
 * record, its offset sent into it) against the same listener without (at least once: BATCH ack mode, a
 * commit after each fetch), in one run, on the same embedded broker.
 *
 *   npm run bench:transactions        (RECORDS=3000 RUNS=7 to change the defaults; about 30 s)
 *
 * Timing: from the end of the first listener call to the end of the last, counting the records handled in
 * between. Rates are medians of RUNS runs; the ratio is the median of the ratios of paired runs (one of
 * each, in alternating order). A transaction costs a handful of round trips per record (AddPartitionsToTxn,
 * the produce, AddOffsetsToTxn, TxnOffsetCommit, EndTxn), where the plain listener's send is one; with the
 * broker in this process the round trips are cheap, so over a network the ratio is larger still.
 */
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkaListener, KafkaModule, KafkaTemplate, Payload } from '@kafka-nest/core';

const RECORDS = Number(process.env.RECORDS ?? 3_000);
const RUNS = Number(process.env.RUNS ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
const feeder = kafka.producer();
await feeder.connect();

let run = 0;

/** Records/second of one run: a fresh input topic of RECORDS records, a fresh group and app. */
async function measure(transactional: boolean): Promise<number> {
  const n = run++;
  const input = `bench-in-${n}`;
  const output = `bench-out-${n}`;
  broker.createTopics({ name: input }, { name: output });
  for (let i = 0; i < RECORDS; i += 1000) {
    await feeder.send({ topic: input, messages: Array.from({ length: Math.min(1000, RECORDS - i) }, (_, j) => ({ value: JSON.stringify({ id: i + j }) })) });
  }
  let count = 0;
  let first = 0;
  let done!: (rate: number) => void;
  const finished = new Promise<number>((r) => (done = r));

  @Injectable()
  class Transform {
    constructor(private readonly template: KafkaTemplate) {}
    @KafkaListener({ id: `bench-${n}`, topics: [input], fromBeginning: true })
    async on(@Payload() value: { id: number }) {
      await this.template.send(output, { id: value.id, done: true });
      count++;
      if (count === 1) first = performance.now();
      else if (count === RECORDS) done(((RECORDS - 1) * 1000) / (performance.now() - first));
    }
  }

  const moduleRef = await Test.createTestingModule({
    imports: [KafkaModule.forRoot({ client: { brokers: broker.brokers, clientId: `bench-${n}` }, ...(transactional && { transactionIdPrefix: `bench-${n}-` }) })],
    providers: [Transform],
  }).compile();
  moduleRef.useLogger(false);
  const app: INestApplicationContext = await moduleRef.init();
  const rate = await finished;
  await app.close();
  broker.deleteTopic(input);
  broker.deleteTopic(output);
  return rate;
}

const rates: Record<'plain' | 'transactional', number[]> = { plain: [], transactional: [] };
const ratios: number[] = [];
await measure(false); // warm-up, not counted
await measure(true);
for (let i = 0; i < RUNS; i++) {
  const order: ('plain' | 'transactional')[] = i % 2 === 0 ? ['plain', 'transactional'] : ['transactional', 'plain'];
  const pair: Record<string, number> = {};
  for (const mode of order) pair[mode] = await measure(mode === 'transactional');
  rates.plain.push(pair.plain);
  rates.transactional.push(pair.transactional);
  ratios.push(pair.transactional / pair.plain);
}
await feeder.disconnect();
await broker.stop();

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`consume-transform-produce listener, ${RECORDS} records per run, medians of ${RUNS} paired runs:`);
console.log(`  at least once (no transactions):        ${fmt(median(rates.plain))} records/s`);
console.log(`  exactly once (a transaction per record): ${fmt(median(rates.transactional))} records/s`);
console.log(`  transactional / plain:                   ${median(ratios).toFixed(3)}x`);
