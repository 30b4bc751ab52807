/**
 * The same `@EventPattern` handler served by `@nestjs/microservices`' own Kafka transport and by
 * `KafkaNestServer`, in one run, on the same embedded broker and data.
 *
 *   npm run bench:microservices       (RECORDS=100000 RUNS=7 PARTITIONS=2 to change the defaults; about 40 s)
 *
 * Both sides run the handler below unchanged, with each side's defaults: Nest's transport one consumer
 * (kafkajs `eachMessage`, one partition at a time, auto-commit), `KafkaNestServer` a listener container
 * (AckMode.BATCH: a commit after each fetch and every 500 records). Both decode the JSON values (Nest's
 * parser), read from the beginning with a fresh group, and count at the handler.
 *
 * Timing as in `listener.bench.ts`: from the end of the first handler call to the end of the last, the
 * first call's record not counted. Rates are medians of RUNS runs; the ratio is the median of the ratios
 * of paired runs (one of each, in alternating order), so that both sides see the same machine load. Also
 * printed: process CPU time per record (broker included), a median per side, steadier than throughput on a
 * busy machine.
 */
import 'reflect-metadata';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkaModule } from '@kafka-nest/core';
import { KafkaNestServer } from '@kafka-nest/core/microservices';
import { Meter, median, seedBenchTopic } from './support/bench-kit.js';

const RECORDS = Number(process.env.RECORDS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 7);
const PARTITIONS = Number(process.env.PARTITIONS ?? 2);
const TOPIC = 'bench';
const SESSION = { sessionTimeout: 45_000, heartbeatInterval: 3_000 };

let meter: Meter;

/** The handler, as written for Nest's Kafka transport. */
@Controller()
class BenchController {
  @EventPattern(TOPIC)
  onRecord(@Payload() value: { i: number }) {
    if (value.i >= 0) meter.hit();
  }
}

let run = 0;
/** CPU µs per record of every counted run, by side: steadier than throughput on a busy machine. */
const cpu: Record<string, number[]> = {};

async function serve(broker: EmbeddedKafkaBroker, side: 'nest' | 'kafka-nest'): Promise<number> {
  meter = new Meter(RECORDS);
  const groupId = `${side}-${++run}`;
  let app: INestMicroservice;
  if (side === 'nest') {
    const module = await Test.createTestingModule({ controllers: [BenchController] }).compile();
    app = module.createNestMicroservice({
      transport: Transport.KAFKA,
      options: {
        client: { brokers: [...broker.brokers], clientId: 'bench-nest', logLevel: 0 },
        consumer: { groupId, ...SESSION },
        postfixId: '',
        subscribe: { fromBeginning: true },
      },
      logger: false,
    });
  } else {
    const module = await Test.createTestingModule({
      imports: [
        KafkaModule.forRoot({
          client: { brokers: broker.brokers, clientId: 'bench-kafka-nest' },
          properties: { 'session.timeout.ms': SESSION.sessionTimeout, 'heartbeat.interval.ms': SESSION.heartbeatInterval },
        }),
      ],
      controllers: [BenchController],
    }).compile();
    app = module.createNestMicroservice({ strategy: new KafkaNestServer({ defaults: { groupId, fromBeginning: true } }), logger: false });
  }
  await app.listen();
  const rate = await meter.done;
  (cpu[side] ??= []).push(meter.cpuPerRecordUs);
  await app.close();
  return rate;
}

async function main() {
  const broker = await EmbeddedKafkaBroker.start({ topics: [{ name: TOPIC, partitions: PARTITIONS }], logger: silentLogger });
  await seedBenchTopic(broker, TOPIC, RECORDS, PARTITIONS);
  console.log(`${RECORDS} records of ~100 bytes on ${PARTITIONS} partition(s); median of ${RUNS} paired runs`);

  // One warm-up of each, not counted.
  await serve(broker, 'nest');
  await serve(broker, 'kafka-nest');
  cpu.nest = [];
  cpu['kafka-nest'] = [];
  const nest: number[] = [];
  const ours: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    if (r % 2 === 0) {
      nest.push(await serve(broker, 'nest'));
      ours.push(await serve(broker, 'kafka-nest'));
    } else {
      ours.push(await serve(broker, 'kafka-nest'));
      nest.push(await serve(broker, 'nest'));
    }
  }
  await broker.stop();

  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} rec/s`;
  const ratios = ours.map((o, i) => o / nest[i]).sort((a, b) => a - b);
  console.log(
    `@EventPattern  Nest's Kafka transport ${fmt(median(nest))}  KafkaNestServer ${fmt(median(ours))}  ratio ${median(ratios).toFixed(2)}x ` +
      `(target >= 3x; pairs ${ratios[0].toFixed(2)}-${ratios[ratios.length - 1].toFixed(2)}x)`,
  );
  const [nestCpu, oursCpu] = [median(cpu.nest), median(cpu['kafka-nest'])];
  console.log(
    `CPU per record (process, broker included; medians): Nest's transport ${nestCpu.toFixed(2)} µs, KafkaNestServer ${oursCpu.toFixed(2)} µs (${(nestCpu / oursCpu).toFixed(2)}x)`,
  );
}

await main();
process.exit(0);
