/**
 * Shared pieces of the retry-topic tests: a payments listener class made per test, with or without a
 * `@DltHandler`, recording every call.
 */
import { Injectable, type Type } from '@nestjs/common';
import {
  Ctx,
  DltHandler,
  KafkaContext,
  KafkaListener,
  type KafkaListenerOptions,
  Payload,
  RetryableTopic,
  type RetryableTopicOptions,
} from '@kafka-nest/core';

/** One call of a listener or DLT handler. */
export interface Call {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly payload: unknown;
  readonly attempt: number;
  readonly headers: Readonly<Record<string, Buffer | undefined>>;
  /** `Date.now()` when the method was called (the clock the due headers use). */
  readonly at: number;
}

export const callOf = (payload: unknown, ctx: KafkaContext): Call => ({
  topic: ctx.topic,
  partition: ctx.partition,
  offset: ctx.offset,
  payload,
  attempt: ctx.deliveryAttempt,
  headers: ctx.headers,
  at: Date.now(),
});

/** Calls of the listener and of its DLT handler. */
export interface Payments {
  readonly calls: Call[];
  readonly dead: Call[];
}

/**
 * A class with `@RetryableTopic(retry) @KafkaListener(listener) charge(...)` and, when `dltHandler` is given,
 * a `@DltHandler() onDead(...)` running it.
 */
export function paymentsListener(
  retry: RetryableTopicOptions | undefined,
  listener: KafkaListenerOptions,
  calls: Payments,
  charge: (payload: unknown, ctx: KafkaContext) => unknown,
  dltHandler?: (payload: unknown, ctx: KafkaContext) => unknown,
): Type<unknown> {
  @Injectable()
  class PaymentsWithoutDltHandler {
    @RetryableTopic(retry)
    @KafkaListener(listener)
    async charge(@Payload() payload: unknown, @Ctx() ctx: KafkaContext) {
      calls.calls.push(callOf(payload, ctx));
      await charge(payload, ctx);
    }
  }
  if (!dltHandler) return PaymentsWithoutDltHandler;

  @Injectable()
  class PaymentsWithDltHandler extends PaymentsWithoutDltHandler {
    @DltHandler()
    async onDead(@Payload() payload: unknown, @Ctx() ctx: KafkaContext) {
      calls.dead.push(callOf(payload, ctx));
      await dltHandler!(payload, ctx);
    }
  }
  return PaymentsWithDltHandler;
}

/**
 * Reads a `BigInteger.toByteArray()` header (what Spring writes for the retry timestamps); epoch-ms values
 * take 6 bytes in that shortest form, which `readIntBE` reads.
 */
export function bigInteger(bytes: Buffer | null | undefined): number {
  if (!bytes || bytes.length === 0 || bytes.length > 6) throw new Error(`not a short BigInteger: ${bytes?.toString('hex')}`);
  return bytes.readIntBE(0, bytes.length);
}
