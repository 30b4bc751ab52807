/**
 * What DeadLetterPublishingRecoverer hands to the template: destination, bytes and Spring's headers. The
 * template here only records calls; publishing for real, and its failures, are in the e2e tests.
 */
import {
  DeadLetterPublishingError,
  DeadLetterPublishingRecoverer,
  type DeadLetterTemplate,
  DltHeaders,
  DeserializationError,
  ErrorHandlingConfigurationError,
  type ConsumedRecord,
  type SendOptions,
} from '@kafka-nest/core';
import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';

const ctx = { listenerId: 'orders', groupId: 'orders-service' };

// The handlers log every failure; the assertions say what matters here.
beforeAll(() => Logger.overrideLogger(false));

interface Sent extends SendOptions {
  topic: string;
  value: unknown;
}

function recordingTemplate(partitions?: Record<string, number>): DeadLetterTemplate & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    async send(topic: string, value: unknown, options: SendOptions = {}) {
      sent.push({ topic, value, ...options });
      return { topic, partition: options.partition ?? 0, offset: sent.length - 1, timestamp: 0 };
    },
    ...(partitions ? { partitionsFor: async (topic: string) => partitions[topic] } : {}),
  };
}

const record: ConsumedRecord = {
  topic: 'orders',
  partition: 2,
  offset: 4242,
  timestamp: 1_700_000_123_456,
  timestampType: 'LogAppendTime',
  key: Buffer.from([0x00, 0xff, 0x10]),
  value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  headers: { 'trace-id': Buffer.from('abc'), [DltHeaders.EXCEPTION_MESSAGE]: Buffer.from('earlier failure') },
};

class OrderRejected extends Error {}

describe('DeadLetterPublishingRecoverer', () => {
  it("publishes to <topic>.DLT on the record's partition, bytes untouched, with Spring's headers", async () => {
    const template = recordingTemplate();
    const root = new RangeError('quantity out of range');
    const error = new OrderRejected('order 7 rejected', { cause: new Error('validation', { cause: root }) });
    await new DeadLetterPublishingRecoverer(template).recover(record, error, ctx);

    expect(template.sent).toHaveLength(1);
    const [sent] = template.sent;
    expect(sent!.topic).toBe('orders.DLT');
    expect(sent!.partition).toBe(2);
    expect(sent!.key).toEqual(record.key);
    expect(sent!.value).toEqual(record.value);
    const h = sent!.headers!;
    expect(h['trace-id']).toEqual(Buffer.from('abc'));
    expect(h[DltHeaders.ORIGINAL_TOPIC]).toEqual(Buffer.from('orders'));
    expect(h[DltHeaders.ORIGINAL_PARTITION]).toEqual(Buffer.from([0, 0, 0, 2]));
    expect(h[DltHeaders.ORIGINAL_OFFSET]).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 0x10, 0x92]));
    const ts = Buffer.alloc(8);
    ts.writeBigInt64BE(1_700_000_123_456n);
    expect(h[DltHeaders.ORIGINAL_TIMESTAMP]).toEqual(ts);
    expect(h[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]).toEqual(Buffer.from('LogAppendTime'));
    expect(h[DltHeaders.ORIGINAL_CONSUMER_GROUP]).toEqual(Buffer.from('orders-service'));
    expect(h[DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('ListenerExecutionFailedError'));
    expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('OrderRejected'));
    expect(h[DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('order 7 rejected'));
    const stack = h[DltHeaders.EXCEPTION_STACKTRACE]!.toString();
    // As a Java stack trace: the class name first (V8's own stack says `Error:`, OrderRejected sets no name).
    expect(stack).toMatch(/^OrderRejected: order 7 rejected\n\s+at /);
    expect(stack.split('\nCaused by: ')[0]).toBe(`OrderRejected: order 7 rejected${error.stack!.slice(error.stack!.indexOf('\n'))}`);
    expect(stack).toContain('\nCaused by: Error: validation\n    at ');
    expect(stack).toContain('\nCaused by: RangeError: quantity out of range\n    at ');
  });

  it('starts the stack trace with the class name for a multi-line, an empty or a changed message too', async () => {
    const template = recordingTemplate();
    const stackOf = async (error: Error) => {
      await new DeadLetterPublishingRecoverer(template).recover(record, error, ctx);
      return template.sent.at(-1)!.headers![DltHeaders.EXCEPTION_STACKTRACE]!.toString();
    };
    expect(await stackOf(new OrderRejected('line one\nline two'))).toMatch(/^OrderRejected: line one\nline two\n\s+at /);
    expect(await stackOf(new OrderRejected())).toMatch(/^OrderRejected\n\s+at /);
    const changed = new OrderRejected('before');
    changed.message = 'after';
    expect(await stackOf(changed)).toMatch(/^OrderRejected: after\n\s+at [^\n]*dead-letter-publishing-recoverer\.test\.ts/);
  });

  it('names the class the listener threw in the cause header, with or without a cause (Spring: findRootCause)', async () => {
    const template = recordingTemplate();
    await new DeadLetterPublishingRecoverer(template).recover(record, new Error('plain'), ctx);
    expect(template.sent[0]!.headers![DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('Error'));
  });

  it("publishes a deserialization failure's raw bytes, with key-exception headers when the key failed", async () => {
    const template = recordingTemplate();
    const raw = Buffer.from('not json{');
    await new DeadLetterPublishingRecoverer(template).recover(
      { ...record, value: raw },
      new DeserializationError('Unexpected token', raw, false),
      ctx,
    );
    expect(template.sent[0]!.value).toEqual(raw);
    expect(template.sent[0]!.headers![DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('DeserializationError'));

    await new DeadLetterPublishingRecoverer(template).recover(record, new DeserializationError('bad key', record.key, true), ctx);
    const keyHeaders = template.sent[1]!.headers!;
    expect(keyHeaders[DltHeaders.KEY_EXCEPTION_FQCN]).toEqual(Buffer.from('DeserializationError'));
    expect(keyHeaders[DltHeaders.KEY_EXCEPTION_MESSAGE]).toEqual(Buffer.from('bad key'));
    expect(keyHeaders[DltHeaders.EXCEPTION_FQCN]).toBeUndefined();
    expect(template.sent[1]!.key).toEqual(record.key);
  });

  it('replaces exception headers of an earlier dead-lettering instead of piling them up', async () => {
    const template = recordingTemplate();
    await new DeadLetterPublishingRecoverer(template).recover(record, new Error('second failure'), ctx);
    expect(template.sent[0]!.headers![DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('second failure'));
  });

  it('honours the suffix, the destination resolver and extra headers', async () => {
    const template = recordingTemplate();
    await new DeadLetterPublishingRecoverer(template, { suffix: '-dlt' }).recover(record, new Error('x'), ctx);
    expect(template.sent[0]!.topic).toBe('orders-dlt');

    const routed = new DeadLetterPublishingRecoverer(template, {
      destinationResolver: (r, e) => (e instanceof OrderRejected ? { topic: 'orders.rejected' } : null),
      headersFunction: (r) => ({ 'x-source': `${r.topic}/${r.partition}` }),
    });
    await routed.recover(record, new OrderRejected('no'), ctx);
    expect(template.sent[1]!.topic).toBe('orders.rejected');
    expect(template.sent[1]!.partition).toBeUndefined();
    expect(template.sent[1]!.headers!['x-source']).toBe('orders/2');
    await routed.recover(record, new Error('skip me'), ctx);
    expect(template.sent).toHaveLength(2);
  });

  it('lets the producer choose when the DLT has fewer partitions than the source', async () => {
    const template = recordingTemplate({ 'orders.DLT': 1 });
    await new DeadLetterPublishingRecoverer(template).recover(record, new Error('x'), ctx);
    expect(template.sent[0]!.partition).toBeUndefined();
    await new DeadLetterPublishingRecoverer(template).recover({ ...record, partition: 0 }, new Error('x'), ctx);
    expect(template.sent[1]!.partition).toBe(0);
  });

  it('fails the recovery, naming the topic, when the publish fails or times out', async () => {
    const failing: DeadLetterTemplate = { send: async () => Promise.reject(new Error('NOT_ENOUGH_REPLICAS')) };
    await expect(new DeadLetterPublishingRecoverer(failing).recover(record, new Error('x'), ctx)).rejects.toThrow(
      /Dead-letter publication of orders-2@4242 to orders.DLT-2 failed: NOT_ENOUGH_REPLICAS/,
    );
    const hanging: DeadLetterTemplate = { send: () => new Promise(() => {}) };
    const error = await new DeadLetterPublishingRecoverer(hanging, { sendTimeoutMs: 20 }).recover(record, new Error('x'), ctx).catch((e) => e);
    expect(error).toBeInstanceOf(DeadLetterPublishingError);
    expect(error.message).toContain('no acknowledgement within 20 ms');
  });

  it('rejects bad configuration and invalid destinations', async () => {
    const template = recordingTemplate();
    expect(() => new DeadLetterPublishingRecoverer(template, { suffix: '.D L T' })).toThrow(ErrorHandlingConfigurationError);
    expect(() => new DeadLetterPublishingRecoverer(template, { sendTimeoutMs: 0 })).toThrow(/sendTimeoutMs/);
    const bad = new DeadLetterPublishingRecoverer(template, { destinationResolver: () => ({ topic: 'orders/dead' }) });
    await expect(bad.recover(record, new Error('x'), ctx)).rejects.toThrow(/Listener 'orders'.*'orders\/dead' has characters/);
  });

  it('names the DLTs to create at start-up, with the source partition count, and checks their names', () => {
    const recoverer = new DeadLetterPublishingRecoverer(recordingTemplate());
    expect(recoverer.topicsToCreate({ topic: 'orders', partitions: 3 }, ctx)).toEqual([{ topic: 'orders.DLT', numPartitions: 3 }]);
    expect(new DeadLetterPublishingRecoverer(recordingTemplate(), { createTopics: false }).topicsToCreate({ topic: 'orders', partitions: 3 })).toEqual([]);
    expect(() => recoverer.topicsToCreate({ topic: 'x'.repeat(248), partitions: 1 }, ctx)).toThrow(/Listener 'orders': dead-letter topic/);
  });
});
