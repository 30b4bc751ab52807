// Transactional listeners (transactionIdPrefix): each delivery runs in a transaction on the producer of its
// group/topic/partition; the listener's KafkaTemplate sends join it and the consumed offset commits with it.
// A failure aborts the output; the error handler then retries, or recovers the record (dead-letter publish
// and offset commit in one new transaction). Batch listeners: one transaction per call, retried whole.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  BatchListenerFailedError,
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  FixedBackOff,
  type KafkaContext,
  KafkaListener,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let closeApp: (() => Promise<void>) | undefined;
const committedValues = (topic: string) => broker.committedRecords(topic).map((r) => r.value!.toString());
const committedOffset = (group: string, topic: string) => broker.committedOffsets(group).find((o) => o.topic === topic)?.offset ?? -1;

beforeAll(async () => {
  broker = await createKafkaTestBroker();
});
afterEach(async () => {
  await closeApp?.();
  closeApp = undefined;
});
afterAll(async () => {
  await broker?.stop();
});

/** Sends `values` to `topic` in one committed transaction from outside the application. */
async function feed(topic: string, values: string[]): Promise<void> {
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

const errorHandler = (attempts: number) => ({
  provide: 'TX_EH',
  inject: [KafkaTemplate],
  useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(20, attempts)),
});

describe('transactional record listener', () => {
  it('consume-transform-produce: output and offsets commit together, under the producer of the group/topic/partition', async () => {
    broker.createTopics({ name: 'ctp-in' }, { name: 'ctp-out' });
    @Injectable()
    class Upper {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'upper', topics: ['ctp-in'], fromBeginning: true, deserializer: 'string' })
      async on(@Payload() value: string) {
        await this.template.send('ctp-out', value.toUpperCase());
      }
    }
    const app = await startApp(broker, { options: { transactionIdPrefix: 'ctp-' }, providers: [Upper] });
    closeApp = () => app.close();

    await feed('ctp-in', ['a', 'b', 'c']);
    await waitFor(() => committedOffset('upper', 'ctp-in') === 3, { message: 'offset 3 committed by the transactions' });
    expect(committedValues('ctp-out')).toEqual(['A', 'B', 'C']);
    expect(broker.transactions().find((t) => t.transactionalId === 'ctp-upper.ctp-in.0')).toMatchObject({ state: 'CompleteCommit' });
  });

  it('aborts the output of each failed delivery and commits the output of the one that succeeds: exactly one visible', async () => {
    broker.createTopics({ name: 'flaky-in' }, { name: 'flaky-out' });
    const attempts: number[] = [];
    @Injectable()
    class Flaky {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'flaky', topics: ['flaky-in'], fromBeginning: true, deserializer: 'string', errorHandler: 'TX_EH' })
      async on(@Payload() value: string, @Ctx() ctx: KafkaContext) {
        attempts.push(ctx.deliveryAttempt);
        await this.template.send('flaky-out', `${value}-attempt-${ctx.deliveryAttempt}`);
        if (ctx.deliveryAttempt < 3) throw new Error('downstream not ready');
      }
    }
    const app = await startApp(broker, { options: { transactionIdPrefix: 'flaky-' }, providers: [Flaky, errorHandler(5)] });
    closeApp = () => app.close();

    await feed('flaky-in', ['order-1']);
    await waitFor(() => committedOffset('flaky', 'flaky-in') === 1, { message: 'the offset committed after the third attempt' });
    expect(attempts).toEqual([1, 2, 3]);
    // every attempt wrote, only the last one committed
    expect(broker.records('flaky-out').map((r) => r.value!.toString())).toEqual(['order-1-attempt-1', 'order-1-attempt-2', 'order-1-attempt-3']);
    expect(committedValues('flaky-out')).toEqual(['order-1-attempt-3']);
    expect(broker.topicNames().includes('flaky-in.DLT') ? broker.endOffset('flaky-in.DLT') : 0).toBe(0);
  });

  it('after the back-off, recovers in a new transaction: the dead-letter record and the offset commit together, the output stays aborted', async () => {
    broker.createTopics({ name: 'poison-in' }, { name: 'poison-out' }, { name: 'poison-in.DLT' });
    @Injectable()
    class Poisoned {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'poisoned', topics: ['poison-in'], fromBeginning: true, deserializer: 'string', errorHandler: 'TX_EH' })
      async on(@Payload() value: string) {
        await this.template.send('poison-out', `half-${value}`);
        if (value === 'bad') throw new Error('cannot process bad');
      }
    }
    const app = await startApp(broker, { options: { transactionIdPrefix: 'poison-' }, providers: [Poisoned, errorHandler(2)] });
    closeApp = () => app.close();

    await feed('poison-in', ['good-1', 'bad', 'good-2']);
    await waitFor(() => committedOffset('poisoned', 'poison-in') === 3, { message: 'all three offsets committed' });
    expect(committedValues('poison-out')).toEqual(['half-good-1', 'half-good-2']);
    expect(committedValues('poison-in.DLT')).toEqual(['bad']);
    expect(broker.committedRecords('poison-in.DLT')[0].headers.map((h) => h.key)).toContain('kafka_dlt-exception-message');
  });
});

describe('transactional batch listener', () => {
  it('rolls back a failed call whole and retries it whole (a BatchListenerFailedError index is not honoured): each output once', async () => {
    broker.createTopics({ name: 'batch-in' }, { name: 'batch-out' });
    const calls: string[][] = [];
    @Injectable()
    class Batch {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'tx-batch', topics: ['batch-in'], batch: true, fromBeginning: true, deserializer: 'string', errorHandler: 'TX_EH' })
      async on(@Payload() values: string[]) {
        calls.push(values);
        for (const v of values) await this.template.send('batch-out', `out-${v}`);
        if (calls.length < 3) throw new BatchListenerFailedError('the second record failed', 1, new Error('not yet'));
      }
    }
    await feed('batch-in', ['x', 'y', 'z']);
    const app = await startApp(broker, { options: { transactionIdPrefix: 'batch-' }, providers: [Batch, errorHandler(5)] });
    closeApp = () => app.close();

    await waitFor(() => committedOffset('tx-batch', 'batch-in') === 3, { message: 'the batch committed after its third call' });
    expect(calls).toEqual([['x', 'y', 'z'], ['x', 'y', 'z'], ['x', 'y', 'z']]);
    expect(broker.records('batch-out')).toHaveLength(9);
    expect(committedValues('batch-out')).toEqual(['out-x', 'out-y', 'out-z']);
  });

  it('recovers every record of a batch that keeps failing, and a record that cannot be deserialized, in transactions with their offsets', async () => {
    broker.createTopics({ name: 'batch-poison' }, { name: 'batch-poison-out' }, { name: 'batch-poison.DLT' });
    @Injectable()
    class Poisoned {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'tx-batch-poison', topics: ['batch-poison'], batch: true, fromBeginning: true, errorHandler: 'TX_EH' })
      async on(@Payload() values: { n: number }[]) {
        for (const v of values) await this.template.send('batch-poison-out', `out-${v.n}`);
        if (values.some((v) => v.n === 2)) throw new Error('2 is poison');
      }
    }
    await feed('batch-poison', ['{"n":1}', 'not json', '{"n":2}', '{"n":3}']);
    const app = await startApp(broker, { options: { transactionIdPrefix: 'batch-poison-' }, providers: [Poisoned, errorHandler(2)] });
    closeApp = () => app.close();

    await waitFor(() => committedOffset('tx-batch-poison', 'batch-poison') === 4, { message: 'all four offsets committed' });
    expect(committedValues('batch-poison-out')).toEqual(['out-1']);
    expect(committedValues('batch-poison.DLT')).toEqual(['not json', '{"n":2}', '{"n":3}']);
  });
});
