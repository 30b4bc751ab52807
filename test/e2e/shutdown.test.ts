// Graceful shutdown: a handler in flight finishes, its offset is committed, the group is left, and a
// restart reprocesses nothing; a handler outliving the shutdown timeout is reported.
import { Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { ApiKey, type EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { AckMode, type ConsumedRecord, Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForCommit } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger, committed, gate, RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'drain' }, { name: 'slow' }, { name: 'poll' }, { name: 'twice' }, { name: 'ordered' }, { name: 'halting', partitions: 2 }] });
});
afterAll(() => broker.stop());

describe('graceful shutdown', () => {
  it('waits for the handler in flight, commits it, leaves the group; a restart reprocesses nothing', async () => {
    const hold = gate();
    const started: number[] = [];
    const finished: number[] = [];
    @Injectable()
    class Drained {
      @KafkaListener({ id: 'drain', topics: ['drain'], fromBeginning: true, autoStartup: false })
      async on(@Ctx() ctx: KafkaContext) {
        started.push(ctx.offset);
        if (ctx.offset === 1) await hold.promise;
        finished.push(ctx.offset);
      }
    }
    const app = await startApp(broker, { providers: [Drained] });
    await app.get(KafkaTemplate).sendBatch('drain', [{ value: 0 }, { value: 1 }, { value: 2 }]);
    await app.get(KafkaListenerEndpointRegistry).start('drain');
    await waitFor(() => started.includes(1));

    const closing = app.close();
    await waitFor(() => !app.get(KafkaListenerEndpointRegistry).isRunning('drain'));
    expect(committed(broker, 'drain', 'drain')).toBe(-1);
    hold.open();
    await closing;

    // The record in flight finished and was committed; the record after it was not started.
    expect(finished).toEqual([0, 1]);
    expect(committed(broker, 'drain', 'drain')).toBe(2);
    expect(broker.describeGroup('drain')?.members ?? []).toEqual([]);

    // A restart starts at the committed offset: offsets 0 and 1 are not delivered again.
    started.length = 0;
    const again = await startApp(broker, { providers: [Drained] });
    await again.get(KafkaListenerEndpointRegistry).start('drain');
    await waitForCommit(broker, 'drain', 'drain', 0, 3);
    expect(started).toEqual([2]);
    await again.close();
  });

  it('syncCommits: false: commits still unanswered at close land before the group is left (they share the coordinator connection)', async () => {
    broker.createTopics({ name: 'async-close', partitions: 1 });
    const handled: number[] = [];
    @Injectable()
    class Async {
      @KafkaListener({ id: 'async-close', topics: ['async-close'], fromBeginning: true, autoStartup: false, ackMode: AckMode.RECORD, syncCommits: false })
      on(@Ctx() ctx: KafkaContext) {
        handled.push(ctx.offset);
      }
    }
    const app = await startApp(broker, { providers: [Async] });
    await app.get(KafkaTemplate).sendBatch('async-close', [{ value: 0 }, { value: 1 }, { value: 2 }]);
    // Every commit is held a while by the broker: the records are handled long before any commit is answered.
    broker.injectFault({ apiKey: ApiKey.OffsetCommit, delayMs: 400, count: 100 });
    await app.get(KafkaListenerEndpointRegistry).start('async-close');
    await waitFor(() => handled.length === 3, { message: 'the three records handled' });
    expect(committed(broker, 'async-close', 'async-close')).toBe(-1);

    await app.close();
    broker.clearFaults();
    expect(committed(broker, 'async-close', 'async-close')).toBe(3);
  });

  it('a handler outliving the shutdown timeout is reported and close() returns', async () => {
    const hold = gate();
    const logger = new CapturingLogger();
    let handling = false;
    @Injectable()
    class Slow {
      @KafkaListener({ id: 'slow', topics: ['slow'], fromBeginning: true })
      async on() {
        handling = true;
        await hold.promise;
      }
    }
    const app = await startApp(broker, { providers: [Slow], logger, options: { shutdownTimeoutMs: 300 } });
    await app.get(KafkaTemplate).send('slow', 1);
    await waitFor(() => handling);
    const t0 = Date.now();
    await app.close();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(logger.lines('warn').find((l) => l.includes('shutdown timeout'))).toBe(
      `listener 'slow' (Slow.on): handlers still running after the shutdown timeout of 300 ms (slow-0@0); their records are committed only if they finish before the process exits, and are delivered again otherwise; raise 'shutdownTimeoutMs' if handlers need longer`,
    );
    expect(committed(broker, 'slow', 'slow')).toBe(-1);
    hold.open();
  });

  it('app.close() after a registry.stop() that is still draining waits for the handler and its commit', async () => {
    const events: string[] = [];
    @Injectable()
    class StoppedTwice {
      @KafkaListener({ id: 'twice', topics: ['twice'], fromBeginning: true })
      async on() {
        events.push('handler start');
        // A handler that takes a while: both stops must wait for it.
        await new Promise((resolve) => setTimeout(resolve, 500));
        events.push('handler end');
      }
    }
    const app = await startApp(broker, { providers: [StoppedTwice] });
    await app.get(KafkaTemplate).send('twice', 1);
    await waitFor(() => events.includes('handler start'));

    const first = app.get(KafkaListenerEndpointRegistry).stop('twice');
    await app.close();
    events.push('closed');
    await first;

    expect(events).toEqual(['handler start', 'handler end', 'closed']);
    expect(committed(broker, 'twice', 'twice')).toBe(1);
  });
  it("app.close() after an error handler's 'stop' waits for the handler still running on another partition", async () => {
    const events: string[] = [];
    const slowStarted = gate();
    /** Decides 'stop' for the bad record once the slow one is in flight. */
    class Stopping extends RecordingErrorHandler {
      constructor() {
        super(() => ({ action: 'stop' }));
      }
      override async handleRecord(record: ConsumedRecord, error: Error) {
        await slowStarted.promise;
        return super.handleRecord(record, error);
      }
    }
    @Injectable()
    class Halting {
      @KafkaListener({ id: 'halting', topics: ['halting'], fromBeginning: true, autoStartup: false, deserializer: 'string', errorHandler: Stopping })
      async on(@Ctx() ctx: KafkaContext) {
        if (ctx.partition === 0) throw new Error('bad record');
        events.push('slow start');
        slowStarted.open();
        await new Promise((resolve) => setTimeout(resolve, 500));
        events.push('slow end');
      }
    }
    const app = await startApp(broker, { providers: [Halting, Stopping] });
    const registry = app.get(KafkaListenerEndpointRegistry);
    await app.get(KafkaTemplate).sendBatch('halting', [{ value: 'bad', partition: 0 }, { value: 'slow', partition: 1 }]);
    await registry.start('halting');
    await waitFor(() => !registry.isRunning('halting'));

    await app.close();
    events.push('closed');

    expect(events).toEqual(['slow start', 'slow end', 'closed']);
    expect(committed(broker, 'halting', 'halting', 1)).toBe(1);
    expect(committed(broker, 'halting', 'halting', 0)).toBe(-1);
  });

  it("containers drain before the application's onModuleDestroy hooks run (root and imported modules)", async () => {
    const events: string[] = [];
    @Injectable()
    class Pool implements OnModuleDestroy {
      onModuleDestroy() {
        events.push('pool destroyed');
      }
    }
    @Injectable()
    class Cache implements OnModuleDestroy {
      onModuleDestroy() {
        events.push('cache destroyed');
      }
    }
    @Module({ providers: [Cache], exports: [Cache] })
    class CacheModule {}
    @Injectable()
    class UsesPool {
      constructor(
        readonly pool: Pool,
        readonly cache: Cache,
      ) {}

      @KafkaListener({ id: 'ordered', topics: ['ordered'], fromBeginning: true })
      async on() {
        events.push('handler start');
        // A handler that takes a while, using the pool all along.
        await new Promise((resolve) => setTimeout(resolve, 300));
        events.push('handler end');
      }
    }
    const app = await startApp(broker, { providers: [Pool, UsesPool], imports: [CacheModule] });
    await app.get(KafkaTemplate).send('ordered', 1);
    await waitFor(() => events.includes('handler start'));
    await app.close();

    expect(events.slice(0, 2)).toEqual(['handler start', 'handler end']);
    expect(events.slice(2).sort()).toEqual(['cache destroyed', 'pool destroyed']);
    expect(committed(broker, 'ordered', 'ordered')).toBe(1);
  });
});

describe('max.poll.interval.ms', () => {
  it('a handler running longer is reported with a log line and a process warning', async () => {
    const hold = gate();
    const logger = new CapturingLogger();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    @Injectable()
    class Poll {
      @KafkaListener({ id: 'poll', topics: ['poll'], fromBeginning: true, properties: { 'max.poll.interval.ms': 200 } })
      async on() {
        await hold.promise;
      }
    }
    const app = await startApp(broker, { providers: [Poll], logger });
    try {
      await app.get(KafkaTemplate).send('poll', 1);
      await waitFor(() => logger.lines('warn').some((l) => l.includes('max.poll.interval.ms')));
      expect(logger.lines('warn').find((l) => l.includes('max.poll.interval.ms'))).toMatch(
        /^listener 'poll' \(Poll\.on\) has been handling poll-0@0 for \d+ ms, longer than max\.poll\.interval\.ms \(200\); a Java consumer would leave the group here\. Make the handler faster, hand the work off, or raise 'max\.poll\.interval\.ms'$/,
      );
      await waitFor(() => warnings.some((w) => (w as NodeJS.ErrnoException).code === 'KAFKA_NEST_MAX_POLL_INTERVAL_EXCEEDED'));
      hold.open();
      await waitForCommit(broker, 'poll', 'poll', 0, 1);
    } finally {
      process.off('warning', onWarning);
      hold.open();
      await app.close();
    }
  });
});
