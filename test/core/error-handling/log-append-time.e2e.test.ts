/**
 * A dead letter from a topic with message.timestamp.type=LogAppendTime says so: the listener sees the
 * broker's append time (not the producer's timestamp), and the DLT record carries it with
 * kafka_dlt-original-timestamp-type LogAppendTime, as Spring's recoverer would write it.
 */
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, DltHeaders, FixedBackOff, KafkaTemplate } from '@kafka-nest/core';
import { getSingleRecord, waitFor } from '@kafka-nest/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { type Delivery, headersOf, int64, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ERROR_HANDLER');
const PRODUCER_TIMESTAMP = 1_700_000_000_123;

beforeAll(quietNest);
const env = brokerPerTest();

async function deadLetterOf(topic: string, configs?: Record<string, string>) {
  env.broker.createTopics({ name: topic, partitions: 1, ...(configs && { configs }) });
  const seen: { type: string; timestamp: number }[] = [];
  const deliveries: Delivery[] = [];
  const Listener = recordListener({ id: topic, topics: [topic], fromBeginning: true, errorHandler: ERROR_HANDLER }, deliveries, (_p, ctx) => {
    seen.push({ type: ctx.record.timestampType, timestamp: ctx.timestamp });
    throw new Error('always fails');
  });
  env.app = await startApp(env.broker, [
    Listener,
    {
      provide: ERROR_HANDLER,
      useFactory: (t: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(t), new FixedBackOff(0, 0)),
      inject: [KafkaTemplate],
    },
  ]);
  const before = Date.now();
  await env.app.get(KafkaTemplate).send(topic, { n: 1 }, { timestamp: PRODUCER_TIMESTAMP });
  const after = Date.now();
  const dead = await getSingleRecord(env.broker, `${topic}.DLT`);
  await waitFor(() => seen.length === 1, { message: 'the delivery' });
  return { seen: seen[0], headers: headersOf(dead), before, after };
}

describe('timestamp types in dead letters', () => {
  it('LogAppendTime: the listener sees the append time, and the DLT headers say LogAppendTime with that time', async () => {
    const { seen, headers, before, after } = await deadLetterOf('appended', { 'message.timestamp.type': 'LogAppendTime' });
    expect(seen.type).toBe('LogAppendTime');
    expect(seen.timestamp).toBeGreaterThanOrEqual(before);
    expect(seen.timestamp).toBeLessThanOrEqual(after);
    expect(headers[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]).toEqual(Buffer.from('LogAppendTime'));
    expect(headers[DltHeaders.ORIGINAL_TIMESTAMP]).toEqual(int64(seen.timestamp));
  });

  it("CreateTime (the default): the producer's timestamp, and CreateTime in the headers", async () => {
    const { seen, headers } = await deadLetterOf('created');
    expect(seen).toEqual({ type: 'CreateTime', timestamp: PRODUCER_TIMESTAMP });
    expect(headers[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]).toEqual(Buffer.from('CreateTime'));
    expect(headers[DltHeaders.ORIGINAL_TIMESTAMP]).toEqual(int64(PRODUCER_TIMESTAMP));
  });
});
