/**
 * What tracing costs a @KafkaListener when no OpenTelemetry tracer provider is registered (the default
 * install: tracing on, `@opentelemetry/api` alone), against the same listener with `tracing: false`, in one
 * run, on the same embedded broker and data.
 *
 *   npm run bench:tracing            (RECORDS=100000 RUNS=11 PARTITIONS=2 to change the defaults; about 40 s)
 *
 * Record mode (a span per record is the worst case): a listener that JSON-parses every value, default
 * settings, reading from the beginning with a fresh group per run. Rates are medians of RUNS runs; the
 * ratio is the median of the ratios of paired runs (one with tracing on, one off, in alternating order), so
 * both see the same machine load. Also printed: process CPU time per record (broker included), with the median
 * of its paired ratios (off / on: steadier than throughput on a busy machine), and, after
 * the pairs, the same listener with the SDK registered (NodeTracerProvider, every span sampled and ended,
 * no exporter): what recording spans costs, for reference.
 */
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { KafkaListener, KafkaModule, Payload } from '@kafka-nest/core';
import { Meter, median, seedBenchTopic } from './support/bench-kit.js';

const RECORDS = Number(process.env.RECORDS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 11);
const PARTITIONS = Number(process.env.PARTITIONS ?? 2);
const TOPIC = 'bench';
const SESSION = { 'session.timeout.ms': 45_000, 'heartbeat.interval.ms': 3_000 };

type Mode = 'off' | 'on' | 'sdk';
let run = 0;
const cpu: Record<Mode, number[]> = { off: [], on: [], sdk: [] };
let meter: Meter;

async function listenerRun(broker: EmbeddedKafkaBroker, mode: Mode, counted = true): Promise<number> {
  meter = new Meter(RECORDS);
  const groupId = `${mode}-${++run}`;
  @Injectable()
  class RecordListener {
    @KafkaListener({ id: 'bench', groupId, topics: [TOPIC], fromBeginning: true })
    onRecord(@Payload() value: { i: number }) {
      if (value.i >= 0) meter.hit();
    }
  }
  const module = await Test.createTestingModule({
    imports: [KafkaModule.forRoot({ client: { brokers: broker.brokers, clientId: 'bench' }, properties: SESSION, tracing: mode !== 'off' })],
    providers: [RecordListener],
  }).compile();
  module.useLogger(false);
  const app: INestApplicationContext = await module.init();
  const rate = await meter.done;
  if (counted) cpu[mode].push(meter.cpuPerRecordUs);
  await app.close();
  return rate;
}

async function main() {
  const broker = await EmbeddedKafkaBroker.start({ topics: [{ name: TOPIC, partitions: PARTITIONS }], logger: silentLogger });
  await seedBenchTopic(broker, TOPIC, RECORDS, PARTITIONS, { tracing: false });
  console.log(`${RECORDS} records of ~100 bytes on ${PARTITIONS} partition(s); median of ${RUNS} paired runs`);

  const rates: Record<Mode, number[]> = { off: [], on: [], sdk: [] };
  await listenerRun(broker, 'off', false); // warm-up, not counted
  await listenerRun(broker, 'on', false);
  for (let r = 0; r < RUNS; r++) {
    const order: Mode[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of order) rates[mode].push(await listenerRun(broker, mode));
  }
  // With the SDK registered, spans are recorded: a reference figure, not part of the zero-cost claim.
  const provider = new NodeTracerProvider();
  provider.register();
  const sdkOff: number[] = [];
  for (let r = 0; r < Math.max(3, Math.floor(RUNS / 2)); r++) {
    rates.sdk.push(await listenerRun(broker, 'sdk'));
    sdkOff.push(await listenerRun(broker, 'off', false));
  }
  await provider.shutdown();
  await broker.stop();

  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} rec/s`;
  const ratios = rates.on.map((o, i) => o / rates.off[i]).sort((a, b) => a - b);
  const sdkRatio = median(rates.sdk.map((s, i) => s / sdkOff[i]));
  console.log(
    `no tracer provider  tracing: false ${fmt(median(rates.off))}  tracing on ${fmt(median(rates.on))} (${(median(rates.on) / median(rates.off)).toFixed(2)}x)  paired ratio ${median(ratios).toFixed(2)}x ` +
      `(target >= 0.98x; pairs ${ratios[0].toFixed(2)}-${ratios[ratios.length - 1].toFixed(2)}x)`,
  );
  // CPU time per record is steadier than throughput on a shared machine: its paired ratio is the main figure.
  const cpuRatios = cpu.off.map((off, i) => off / cpu.on[i]).sort((a, b) => a - b);
  console.log(
    `CPU per record (process, broker included; medians): tracing: false ${median(cpu.off).toFixed(2)} µs, tracing on ${median(cpu.on).toFixed(2)} µs; ` +
      `paired ratio ${median(cpuRatios).toFixed(2)}x (pairs ${cpuRatios[0].toFixed(2)}-${cpuRatios[cpuRatios.length - 1].toFixed(2)}x; 1.00x = same cost)`,
  );
  console.log(`SDK registered (spans recorded, no exporter): ${fmt(median(rates.sdk))}, ${sdkRatio.toFixed(2)}x of tracing: false; CPU ${median(cpu.sdk).toFixed(2)} µs per record`);
}

await main();
