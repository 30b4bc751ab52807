// The container's side of the CommonErrorHandler contract: back-offs pause only the failed partition and
// seek back to the failed record, deliveryAttempt reaches KafkaContext, stop stops, batch failures commit
// the records the handler says are done; and the real DefaultErrorHandler + DeadLetterPublishingRecoverer
// publish through KafkaTemplate.
import { Injectable } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  BatchListenerFailedError,
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  FixedBackOff,
  KafkaBatchContext,
  KafkaContext,
  KafkaListener,
  KafkaListenerEndpointRegistry,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { createKafkaTestBroker, getSingleRecord, waitFor, waitForCommit } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { committed, RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext | undefined;
beforeAll(async () => {
  broker = await createKafkaTestBroker({
    topics: [{ name: 'retry', partitions: 2 }, { name: 'again' }, { name: 'halt' }, { name: 'batch-fail' }, { name: 'dlt-source' }],
  });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => broker.stop());

describe('retries', () => {
  it('a back-off pauses only the failed partition and redelivers the same record after the delay', async () => {
    const handler = new RecordingErrorHandler((_r, _e, attempt) => (attempt < 3 ? { action: 'retry', delayMs: 300 } : { action: 'skip' }));
    const deliveries: { partition: number; offset: number; attempt: number; at: number }[] = [];
    @Injectable()
    class Retrying {
      @KafkaListener({ id: 'retry', topics: ['retry'], fromBeginning: true, errorHandler: 'EH', deserializer: 'string' })
      on(@Ctx() ctx: KafkaContext) {
        deliveries.push({ partition: ctx.partition, offset: ctx.offset, attempt: ctx.deliveryAttempt, at: Date.now() });
        if (ctx.partition === 0 && ctx.offset === 0) throw new Error('not yet');
      }
    }
    app = await startApp(broker, { providers: [Retrying, { provide: 'EH', useValue: handler }] });
    const generation = () => broker.describeGroup('retry')?.generationId;
    const template = app.get(KafkaTemplate);
    await template.sendBatch('retry', [{ value: 'bad', partition: 0 }, { value: 'next', partition: 0 }]);
    await waitFor(() => deliveries.length >= 1, { message: 'first delivery' });
    const gen = generation();
    // Partition 1 goes on while partition 0 backs off.
    await template.send('retry', 'other', { partition: 1 });
    await waitFor(() => deliveries.some((d) => d.partition === 1), { message: 'partition 1 ' + JSON.stringify(deliveries) });
    await waitForCommit(broker, 'retry', 'retry', 0, 2).catch((e) => { throw new Error(e.message + JSON.stringify(deliveries)); });
    const p0 = deliveries.filter((d) => d.partition === 0);
    expect(p0.map((d) => [d.offset, d.attempt])).toEqual([[0, 1], [0, 2], [0, 3], [1, 1]]);
    expect(p0[1].at - p0[0].at).toBeGreaterThanOrEqual(290);
    expect(p0[2].at - p0[1].at).toBeGreaterThanOrEqual(290);
    expect(deliveries.find((d) => d.partition === 1)!.at).toBeLessThan(p0[2].at);
    expect(generation()).toBe(gen);
  });

  it('a retry without delay delivers the record again at once', async () => {
    const handler = new RecordingErrorHandler((_r, _e, attempt) => (attempt < 4 ? { action: 'retry', delayMs: 0 } : { action: 'skip' }));
    const attempts: number[] = [];
    @Injectable()
    class Again {
      @KafkaListener({ id: 'again', topics: ['again'], fromBeginning: true, errorHandler: 'EH' })
      on(@Ctx() ctx: KafkaContext) {
        attempts.push(ctx.deliveryAttempt);
        throw new Error('always');
      }
    }
    app = await startApp(broker, { providers: [Again, { provide: 'EH', useValue: handler }] });
    await app.get(KafkaTemplate).send('again', 1);
    await waitForCommit(broker, 'again', 'again', 0, 1);
    expect(attempts).toEqual([1, 2, 3, 4]);
  });

  it("'stop' stops the container and leaves the failed record uncommitted", async () => {
    const handler = new RecordingErrorHandler(() => ({ action: 'stop' }));
    const seen: number[] = [];
    @Injectable()
    class Halting {
      @KafkaListener({ id: 'halt', topics: ['halt'], fromBeginning: true, errorHandler: 'EH' })
      on(@Ctx() ctx: KafkaContext) {
        seen.push(ctx.offset);
        if (ctx.offset === 1) throw new Error('fatal');
      }
    }
    app = await startApp(broker, { providers: [Halting, { provide: 'EH', useValue: handler }] });
    await app.get(KafkaTemplate).sendBatch('halt', [{ value: 0 }, { value: 1 }, { value: 2 }]);
    const registry = app.get(KafkaListenerEndpointRegistry);
    await waitFor(() => !registry.isRunning('halt'));
    expect(seen).toEqual([0, 1]);
    expect(committed(broker, 'halt', 'halt')).toBe(1);
  });
});

describe('batch listeners', () => {
  it("commits the records the error handler says are done, then applies 'then' to the rest", async () => {
    const handler = new RecordingErrorHandler(undefined, (_records, error) => ({
      committed: (error as BatchListenerFailedError).index ?? 0,
      then: { action: 'skip' },
    }));
    const batches: number[][] = [];
    @Injectable()
    class Batch {
      @KafkaListener({ id: 'batch-fail', topics: ['batch-fail'], batch: true, fromBeginning: true, autoStartup: false, errorHandler: 'EH' })
      on(@Payload() values: number[], @Ctx() ctx: KafkaBatchContext) {
        batches.push(values);
        const bad = values.indexOf(3);
        if (bad >= 0) {
          expect(committed(broker, 'batch-fail', 'batch-fail')).toBe(-1);
          expect(ctx.records[bad].offset).toBe(bad);
          throw new BatchListenerFailedError('3 is bad', bad);
        }
      }
    }
    app = await startApp(broker, { providers: [Batch, { provide: 'EH', useValue: handler }] });
    await app.get(KafkaTemplate).sendBatch('batch-fail', [1, 2, 3, 4].map((value) => ({ value })));
    await app.get(KafkaListenerEndpointRegistry).start('batch-fail');
    await waitForCommit(broker, 'batch-fail', 'batch-fail', 0, 4);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    expect(handler.batchFailures).toHaveLength(1);
  });
});

describe('DefaultErrorHandler with a DeadLetterPublishingRecoverer', () => {
  it('retries, then publishes the record to <topic>.DLT through KafkaTemplate and commits it', async () => {
    const attempts: number[] = [];
    @Injectable()
    class Failing {
      @KafkaListener({ id: 'dlt', topics: ['dlt-source'], fromBeginning: true, errorHandler: 'DLT_EH', deserializer: 'string' })
      on(@Ctx() ctx: KafkaContext) {
        attempts.push(ctx.deliveryAttempt);
        throw new Error('cannot handle');
      }
    }
    app = await startApp(broker, {
      providers: [
        Failing,
        {
          provide: 'DLT_EH',
          inject: [KafkaTemplate],
          useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(0, 2)),
        },
      ],
    });
    await app.get(KafkaTemplate).send('dlt-source', 'payload', { key: 'k1', headers: { origin: 'test' } });
    const dead = await getSingleRecord(broker, 'dlt-source.DLT');
    expect(dead.value).toEqual(Buffer.from('payload'));
    expect(dead.key).toEqual(Buffer.from('k1'));
    expect(dead.headers.find((h) => h.key === 'origin')?.value).toEqual(Buffer.from('test'));
    expect(dead.headers.map((h) => h.key)).toContain('kafka_dlt-exception-message');
    await waitForCommit(broker, 'dlt', 'dlt-source', 0, 1);
    expect(attempts).toEqual([1, 2, 3]);
  });
});
