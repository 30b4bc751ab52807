/**
 * Shared pieces of the error-handling end-to-end tests: a listener class made per test, a Nest app on an
 * embedded broker, and a record of every delivery the listener saw.
 */
import { Injectable, Logger, type Provider, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { BrokerRecord, EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, KafkaContext, KafkaListener, type KafkaListenerOptions, type KafkaModuleOptions, Payload } from '@kafka-nest/core';
import { KafkaTestingModule } from '@kafka-nest/testing';

/** One call of the listener. */
export interface Delivery {
  readonly payload: unknown;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
  /** `performance.now()` when the listener was called. */
  readonly at: number;
}

/**
 * A listener class for one test: records each delivery in `deliveries`, then calls `handle` (which throws
 * to fail the delivery).
 */
export function recordListener(
  options: KafkaListenerOptions,
  deliveries: Delivery[],
  handle: (payload: unknown, ctx: KafkaContext) => unknown = () => undefined,
): Type<unknown> {
  @Injectable()
  class TestRecordListener {
    @KafkaListener(options)
    async onRecord(@Payload() payload: unknown, @Ctx() ctx: KafkaContext) {
      deliveries.push({ payload, partition: ctx.partition, offset: ctx.offset, attempt: ctx.deliveryAttempt, at: performance.now() });
      await handle(payload, ctx);
    }
  }
  return TestRecordListener;
}

/** A Nest application with `KafkaModule` on `broker` and the given providers, initialised (containers started). */
export async function startApp(
  broker: EmbeddedKafkaBroker,
  providers: Provider[],
  overrides: Partial<KafkaModuleOptions> = {},
): Promise<TestingModule> {
  const app = await Test.createTestingModule({ imports: [KafkaTestingModule.forBroker(broker, overrides)], providers }).compile();
  app.useLogger(false);
  await app.init();
  return app;
}

/** Silences Nest's static logger, which the error handlers use for every failure. */
export function quietNest(): void {
  Logger.overrideLogger(false);
}

/** A broker record's headers by name; fails on a name given twice (exception headers must be replaced, not piled up). */
export function headersOf(record: BrokerRecord): Record<string, Buffer | null> {
  const out: Record<string, Buffer | null> = {};
  for (const { key, value } of record.headers) {
    if (key in out) throw new Error(`header '${key}' appears more than once on ${record.topic}-${record.partition}@${record.offset}`);
    out[key] = value;
  }
  return out;
}

/** The committed offset (next to read) of a group on a partition, or -1. */
export function committed(broker: EmbeddedKafkaBroker, groupId: string, topic: string, partition: number): number {
  return broker.committedOffsets(groupId).find((o) => o.topic === topic && o.partition === partition)?.offset ?? -1;
}

/** Big-endian int32 and int64, as Java's ByteBuffer writes them. */
export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
export function int64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}
