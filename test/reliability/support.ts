/** Shared pieces of the reliability tests: seeded randomness, a steady producer, the child listener app. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Kafka, logLevel, type Producer } from 'kafkajs';

/** An integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number.parseInt(v, 10);
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The child listener application. */
export const LISTENER_APP = fileURLToPath(new URL('../fixtures/reliability/listener-app.ts', import.meta.url));

/** A fresh directory for journals. */
export function journalDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `kafka-nest-${name}-`));
}

/** A kafkajs producer with patient retries, for driving traffic from the test process. */
export async function testProducer(broker: EmbeddedKafkaBroker, clientId: string): Promise<Producer> {
  const kafka = new Kafka({ clientId, brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/**
 * Sends small batches of records, round robin over the partitions, until stopped or `max` records were
 * acknowledged. `send` is any sender (kafkajs or KafkaTemplate); a failed send is not counted as acknowledged.
 */
export function steadyTraffic(
  send: (records: { partition: number; value: string }[]) => Promise<unknown>,
  options: { partitions: number; batch?: number; max: number; pauseMs?: number },
) {
  const { partitions, batch = 4, max, pauseMs = 5 } = options;
  let running = true;
  const acked: string[] = [];
  let failed = 0;
  let i = 0;
  const done = (async () => {
    while (running && acked.length < max) {
      const records = Array.from({ length: batch }, () => {
        const n = i++;
        return { partition: n % partitions, value: `r${n}` };
      });
      try {
        await send(records);
        for (const r of records) acked.push(r.value);
      } catch {
        failed += records.length;
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    /** Values of the records the broker acknowledged, in send order. */
    acked: acked as readonly string[],
    get acknowledged() {
      return acked.length;
    },
    get failed() {
      return failed;
    },
    /** Resolves when `max` records were acknowledged (or the traffic was stopped). */
    finished: done,
    async stop() {
      running = false;
      await done;
    },
  };
}
