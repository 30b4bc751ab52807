/**
 * The policy of DefaultErrorHandler, as a pure object: which result it gives the container for each
 * failure. The mechanics (pause, seek, commit) are the container's and are tested end to end.
 */
import {
  BatchListenerFailedError,
  CommonContainerStoppingErrorHandler,
  CommonLoggingErrorHandler,
  DefaultErrorHandler,
  DeserializationError,
  ExponentialBackOff,
  FixedBackOff,
  type ConsumedRecord,
  type RetryListener,
} from '@kafka-nest/core';
import { BadRequestException, ForbiddenException, Logger, UnauthorizedException } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';

const ctx = { listenerId: 'orders', groupId: 'orders-service' };

// The handlers log every failure; the assertions say what matters here.
beforeAll(() => Logger.overrideLogger(false));

function record(offset: number, partition = 0, topic = 'orders'): ConsumedRecord {
  return {
    topic,
    partition,
    offset,
    timestamp: 1_700_000_000_000 + offset,
    timestampType: 'CreateTime',
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(`{"n":${offset}}`),
    headers: {},
  };
}

class OrderRejected extends Error {}
class InventoryDown extends Error {}

function recorder() {
  const recovered: { offset: number; error: Error }[] = [];
  const recoverer = (r: ConsumedRecord, error: Error) => {
    recovered.push({ offset: r.offset, error });
  };
  return { recovered, recoverer };
}

describe('DefaultErrorHandler: records', () => {
  it('by default delivers 10 times with no delay, then skips the record', async () => {
    const handler = new DefaultErrorHandler();
    const r = record(5);
    const results = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect(handler.deliveryAttempt(r, ctx)).toBe(attempt);
      results.push(await handler.handleRecord(r, new Error('boom'), ctx));
    }
    expect(results.slice(0, 9)).toEqual(Array(9).fill({ action: 'retry', delayMs: 0 }));
    expect(results[9]).toEqual({ action: 'skip' });
    expect(handler.deliveryAttempt(r, ctx)).toBe(1);
  });

  it('retries with the back-off, then hands the record to the recoverer', async () => {
    const { recovered, recoverer } = recorder();
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(50, 2));
    const r = record(7);
    const error = new Error('always');
    expect(await handler.handleRecord(r, error, ctx)).toEqual({ action: 'retry', delayMs: 50 });
    expect(await handler.handleRecord(r, error, ctx)).toEqual({ action: 'retry', delayMs: 50 });
    expect(recovered).toEqual([]);
    expect(await handler.handleRecord(r, error, ctx)).toEqual({ action: 'skip' });
    expect(recovered).toEqual([{ offset: 7, error }]);
  });

  it('accepts a back-off alone, as Spring does', async () => {
    const handler = new DefaultErrorHandler(new FixedBackOff(20, 1));
    expect(await handler.handleRecord(record(1), new Error('x'), ctx)).toEqual({ action: 'retry', delayMs: 20 });
    expect(await handler.handleRecord(record(1), new Error('x'), ctx)).toEqual({ action: 'skip' });
  });

  it('starts counting again when another record of the partition fails, or after a success', async () => {
    const handler = new DefaultErrorHandler(() => {}, new FixedBackOff(0, 2));
    await handler.handleRecord(record(1), new Error('x'), ctx);
    await handler.handleRecord(record(1), new Error('x'), ctx);
    expect(handler.deliveryAttempt(record(1), ctx)).toBe(3);
    await handler.handleRecord(record(2), new Error('x'), ctx);
    expect(handler.deliveryAttempt(record(2), ctx)).toBe(2);
    expect(handler.deliveryAttempt(record(1), ctx)).toBe(1);
    handler.recordSucceeded(record(2), ctx);
    expect(handler.deliveryAttempt(record(2), ctx)).toBe(1);
  });

  it('keeps partitions and groups apart', async () => {
    const handler = new DefaultErrorHandler(() => {}, new FixedBackOff(0, 2));
    await handler.handleRecord(record(1, 0), new Error('x'), ctx);
    await handler.handleRecord(record(1, 1), new Error('x'), ctx);
    await handler.handleRecord(record(1, 1), new Error('x'), { ...ctx, groupId: 'other' });
    expect(handler.deliveryAttempt(record(1, 0), ctx)).toBe(2);
    expect(handler.deliveryAttempt(record(1, 1), ctx)).toBe(2);
    expect(handler.deliveryAttempt(record(1, 1), { ...ctx, groupId: 'other' })).toBe(2);
  });

  it("starts counting again when the error's class changes", async () => {
    const { recovered, recoverer } = recorder();
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(0, 1));
    expect(await handler.handleRecord(record(3), new OrderRejected('a'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(3), new InventoryDown('b'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(3), new InventoryDown('b'), ctx)).toEqual({ action: 'skip' });
    expect(recovered.map((x) => x.error.constructor)).toEqual([InventoryDown]);
  });

  it('keeps counting when only the cause changes, and when a subclass is followed by its superclass (Spring: isInstance)', async () => {
    class Specific extends InventoryDown {}
    const { recovered, recoverer } = recorder();
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(0, 2));
    const flaky = (n: number) => new InventoryDown('down', { cause: n % 2 ? new RangeError('reset') : new SyntaxError('timeout') });
    expect(await handler.handleRecord(record(4), flaky(1), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(4), flaky(2), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(4), flaky(3), ctx)).toEqual({ action: 'skip' });
    expect(await handler.handleRecord(record(5), new Specific('a'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(5), new InventoryDown('b'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(5), new Specific('c'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(handler.deliveryAttempt(record(5), ctx)).toBe(2);
    expect(recovered.map((x) => x.offset)).toEqual([4]);
  });

  it('with setResetStateOnExceptionChange(false) counts every failure of the record, whatever its class', async () => {
    const { recovered, recoverer } = recorder();
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(0, 1));
    handler.setResetStateOnExceptionChange(false);
    expect(await handler.handleRecord(record(3), new OrderRejected('a'), ctx)).toEqual({ action: 'retry', delayMs: 0 });
    expect(await handler.handleRecord(record(3), new InventoryDown('b'), ctx)).toEqual({ action: 'skip' });
    expect(recovered.map((x) => x.error.constructor)).toEqual([InventoryDown]);
  });

  it('uses the back-off function per record, falling back to its own back-off', async () => {
    const handler = new DefaultErrorHandler(() => {}, new FixedBackOff(10, 5));
    handler.setBackOffFunction((r, error) => (error instanceof InventoryDown ? new ExponentialBackOff({ initialInterval: 100, multiplier: 3 }) : undefined));
    expect(await handler.handleRecord(record(1), new InventoryDown(), ctx)).toEqual({ action: 'retry', delayMs: 100 });
    expect(await handler.handleRecord(record(1), new InventoryDown(), ctx)).toEqual({ action: 'retry', delayMs: 300 });
    expect(await handler.handleRecord(record(2), new OrderRejected(), ctx)).toEqual({ action: 'retry', delayMs: 10 });
  });

  it('recovers a failed recovery by redelivering after the back-off started anew (at least 1 s later), and tells the listeners', async () => {
    let failPublish = true;
    const published: number[] = [];
    const calls: string[] = [];
    const handler = new DefaultErrorHandler((r) => {
      if (failPublish) throw new Error('DLT down');
      published.push(r.offset);
    }, new FixedBackOff(25, 1));
    handler.setRetryListeners({
      failedDelivery: (r, e, attempt) => calls.push(`failed ${r.offset} #${attempt}`),
      recovered: (r) => calls.push(`recovered ${r.offset}`),
      recoveryFailed: (r, original, failure) => calls.push(`recoveryFailed ${r.offset} ${original.message} / ${failure.message}`),
    });
    const r = record(9);
    expect(await handler.handleRecord(r, new Error('bad'), ctx)).toEqual({ action: 'retry', delayMs: 25 });
    expect(await handler.handleRecord(r, new Error('bad'), ctx)).toEqual({ action: 'retry', delayMs: 1000 });
    expect(handler.deliveryAttempt(r, ctx)).toBe(1);
    failPublish = false;
    expect(await handler.handleRecord(r, new Error('bad'), ctx)).toEqual({ action: 'retry', delayMs: 25 });
    expect(await handler.handleRecord(r, new Error('bad'), ctx)).toEqual({ action: 'skip' });
    expect(published).toEqual([9]);
    expect(calls).toEqual([
      'failed 9 #1',
      'failed 9 #2',
      'recoveryFailed 9 bad / DLT down',
      'failed 9 #1',
      'failed 9 #2',
      'recovered 9',
    ]);
  });

  it('ignores a retry listener that throws', async () => {
    const handler = new DefaultErrorHandler(() => {}, new FixedBackOff(0, 0));
    handler.setRetryListeners({ failedDelivery: () => { throw new Error('listener bug'); } });
    expect(await handler.handleRecord(record(1), new Error('x'), ctx)).toEqual({ action: 'skip' });
  });
});

describe('DefaultErrorHandler: classification', () => {
  it('does not retry deserialization failures, validation-pipe rejections and programming errors', () => {
    const handler = new DefaultErrorHandler();
    expect(handler.isRetryable(new DeserializationError('not JSON', Buffer.from('x'), false))).toBe(false);
    expect(handler.isRetryable(new BadRequestException(['total must be a number']))).toBe(false);
    expect(handler.isRetryable(new TypeError('x is undefined'))).toBe(false);
    expect(handler.isRetryable(new ReferenceError('y is not defined'))).toBe(false);
    expect(handler.isRetryable(new Error('timeout'))).toBe(true);
  });

  it("judges a TypeError with a cause (fetch's 'fetch failed') by its cause, and does not retry guard refusals", () => {
    const handler = new DefaultErrorHandler();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(handler.isRetryable(new TypeError('fetch failed', { cause: refused }))).toBe(true);
    expect(handler.isRetryable(new TypeError('bad', { cause: new ReferenceError('y') }))).toBe(false);
    expect(handler.isRetryable(new ForbiddenException())).toBe(false);
    expect(handler.isRetryable(new UnauthorizedException())).toBe(false);
    handler.addNotRetryableErrors(TypeError);
    expect(handler.isRetryable(new TypeError('fetch failed', { cause: refused }))).toBe(false);
  });

  it('sends a not-retryable error to the recoverer on its first delivery', async () => {
    const { recovered, recoverer } = recorder();
    const attempts: number[] = [];
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(0, 5));
    handler.setRetryListeners({ failedDelivery: (r, e, attempt) => attempts.push(attempt) });
    const error = new TypeError('oops');
    expect(await handler.handleRecord(record(1), error, ctx)).toEqual({ action: 'skip' });
    expect(recovered).toEqual([{ offset: 1, error }]);
    expect(attempts).toEqual([1]);
  });

  it('inspects the cause chain, outermost classification first', () => {
    const handler = new DefaultErrorHandler();
    expect(handler.isRetryable(new Error('wrapper', { cause: new Error('mid', { cause: new TypeError('root') }) }))).toBe(false);
    handler.addRetryableErrors(InventoryDown);
    expect(handler.isRetryable(new InventoryDown('outer', { cause: new TypeError('root') }))).toBe(true);
  });

  it('matches subclasses, and can be configured', () => {
    class BadOrder extends OrderRejected {}
    const handler = new DefaultErrorHandler();
    handler.addNotRetryableErrors(OrderRejected);
    expect(handler.isRetryable(new BadOrder())).toBe(false);
    expect(handler.removeClassification(OrderRejected)).toBe(false);
    expect(handler.isRetryable(new BadOrder())).toBe(true);
    handler.removeClassification(TypeError);
    expect(handler.isRetryable(new TypeError())).toBe(true);
  });

  it('defaultFalse() retries only what addRetryableErrors names', () => {
    const handler = new DefaultErrorHandler();
    handler.defaultFalse();
    handler.addRetryableErrors(InventoryDown);
    expect(handler.isRetryable(new Error('x'))).toBe(false);
    expect(handler.isRetryable(new InventoryDown())).toBe(true);
    expect(handler.isRetryable(new Error('wrapped', { cause: new InventoryDown() }))).toBe(true);
  });
});

describe('DefaultErrorHandler: batches', () => {
  const batch = Array.from({ length: 10 }, (_, i) => record(100 + i));

  it('commits before a BatchListenerFailedError index, retries from it, recovers it when exhausted', async () => {
    const { recovered, recoverer } = recorder();
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(40, 2));
    const cause = new OrderRejected('record 3');
    const failed = () => new BatchListenerFailedError('record 103 failed', 3, cause);
    expect(await handler.handleBatch(batch, failed(), ctx)).toEqual({ committed: 3, then: { action: 'retry', delayMs: 40 } });
    const redelivered = batch.slice(3);
    expect(await handler.handleBatch(redelivered, new BatchListenerFailedError('again', 0, cause), ctx)).toEqual({
      committed: 0,
      then: { action: 'retry', delayMs: 40 },
    });
    expect(await handler.handleBatch(redelivered, new BatchListenerFailedError('again', 0, cause), ctx)).toEqual({
      committed: 1,
      then: { action: 'retry', delayMs: 0 },
    });
    expect(recovered).toEqual([{ offset: 103, error: cause }]);
  });

  it('retries the whole batch on any other error, then recovers each record in order', async () => {
    const { recovered, recoverer } = recorder();
    const attempts: number[] = [];
    const handler = new DefaultErrorHandler(recoverer, new FixedBackOff(5, 1));
    handler.setRetryListeners({ failedBatchDelivery: (records, error, attempt) => attempts.push(attempt) });
    expect(await handler.handleBatch(batch, new Error('db down'), ctx)).toEqual({ committed: 0, then: { action: 'retry', delayMs: 5 } });
    expect(await handler.handleBatch(batch, new Error('db down'), ctx)).toEqual({ committed: 10, then: { action: 'skip' } });
    expect(recovered.map((x) => x.offset)).toEqual(batch.map((r) => r.offset));
    expect(attempts).toEqual([1, 2]);
  });

  it('commits the records recovered before a recoverer failure, and redelivers from the one that failed', async () => {
    const handler = new DefaultErrorHandler((r) => {
      if (r.offset === 104) throw new Error('DLT down');
    }, new FixedBackOff(7, 1));
    expect(await handler.handleBatch(batch, new Error('x'), ctx)).toEqual({ committed: 0, then: { action: 'retry', delayMs: 7 } });
    expect(await handler.handleBatch(batch, new Error('x'), ctx)).toEqual({ committed: 4, then: { action: 'retry', delayMs: 1000 } });
  });
});

describe('CommonLoggingErrorHandler and CommonContainerStoppingErrorHandler', () => {
  it('logs and skips', async () => {
    const handler = new CommonLoggingErrorHandler();
    expect(await handler.handleRecord(record(1), new Error('x'), ctx)).toEqual({ action: 'skip' });
    expect(await handler.handleBatch([record(1), record(2)], new Error('x'), ctx)).toEqual({ committed: 2, then: { action: 'skip' } });
  });

  it('stops the container, committing what a batch listener said was done', async () => {
    const handler = new CommonContainerStoppingErrorHandler();
    expect(await handler.handleRecord(record(1), new Error('x'), ctx)).toEqual({ action: 'stop' });
    expect(await handler.handleBatch([record(1), record(2), record(3)], new BatchListenerFailedError('x', 2), ctx)).toEqual({
      committed: 2,
      then: { action: 'stop' },
    });
  });
});
