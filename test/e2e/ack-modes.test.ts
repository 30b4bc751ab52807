// Each ack mode's commit points, read from the broker's committed offsets while and after records are handled.
import { Injectable } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { ApiKey } from '@kafka-nest/broker';
import { Ack, type Acknowledgment, AckMode, Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForCommit } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { committed, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext | undefined;
beforeAll(async () => {
  broker = await createKafkaTestBroker();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => broker.stop());

/** What was committed when each record reached the listener. */
interface Seen {
  offset: number;
  committedBefore: number;
}

/**
 * Starts a listener on a fresh topic holding `count` records written in one request (so that they arrive
 * in one fetch), calling `onRecord` for each; returns what it saw.
 */
async function run(
  name: string,
  listener: { ackMode: AckMode; syncCommits?: boolean; properties?: Record<string, number> },
  count: number,
  onRecord: (offset: number, ack: Acknowledgment) => Promise<void> | void = () => undefined,
) {
  broker.createTopics({ name, partitions: 1 });
  const seen: Seen[] = [];
  @Injectable()
  class Listener {
    @KafkaListener({ id: name, topics: [name], fromBeginning: true, autoStartup: false, ...listener })
    async handle(@Ctx() ctx: KafkaContext, @Ack() ack: Acknowledgment) {
      seen.push({ offset: ctx.offset, committedBefore: committed(broker, name, name) });
      await onRecord(ctx.offset, ack);
    }
  }
  app = await startApp(broker, { providers: [Listener] });
  await app.get(KafkaTemplate).sendBatch(name, Array.from({ length: count }, (_, i) => ({ value: { i } })));
  await app.get(KafkaListenerEndpointRegistry).start(name);
  await waitFor(() => seen.length >= count, { message: `${count} records handled` });
  return seen;
}

describe('ack modes', () => {
  it('RECORD commits after each record', async () => {
    const seen = await run('ack-record', { ackMode: AckMode.RECORD }, 4);
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, 1, 2, 3]);
    await waitForCommit(broker, 'ack-record', 'ack-record', 0, 4);
  });

  it('BATCH (the default) commits once the records of the fetch are processed', async () => {
    const seen = await run('ack-batch', { ackMode: AckMode.BATCH }, 4);
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, -1, -1, -1]);
    expect(await waitForCommit(broker, 'ack-batch', 'ack-batch', 0, 4)).toBe(4);
  });

  it('BATCH commits every max.poll.records records', async () => {
    const seen = await run('ack-batch-max', { ackMode: AckMode.BATCH, properties: { 'max.poll.records': 2 } }, 5);
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, -1, 2, 2, 4]);
    await waitForCommit(broker, 'ack-batch-max', 'ack-batch-max', 0, 5);
  });

  it('MANUAL queues acknowledgments and commits them with the batch; unacknowledged records stay uncommitted', async () => {
    const seen = await run('ack-manual', { ackMode: AckMode.MANUAL }, 4, async (offset, ack) => {
      if (offset <= 1) await ack.acknowledge();
    });
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, -1, -1, -1]);
    await waitForCommit(broker, 'ack-manual', 'ack-manual', 0, 2);
    await app!.close();
    app = undefined;
    expect(committed(broker, 'ack-manual', 'ack-manual')).toBe(2);
  });

  it('MANUAL_IMMEDIATE commits on each acknowledge()', async () => {
    const seen = await run('ack-immediate', { ackMode: AckMode.MANUAL_IMMEDIATE }, 4, async (offset, ack) => {
      if (offset % 2 === 0) await ack.acknowledge();
    });
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, 1, 1, 3]);
    await app!.close();
    app = undefined;
    expect(committed(broker, 'ack-immediate', 'ack-immediate')).toBe(3);
  });

  it('acknowledge() does nothing more in the automatic modes', async () => {
    const seen = await run('ack-auto-ack', { ackMode: AckMode.BATCH }, 2, async (_o, ack) => {
      await ack.acknowledge();
      expect(ack.acknowledged).toBe(true);
    });
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, -1]);
    await waitForCommit(broker, 'ack-auto-ack', 'ack-auto-ack', 0, 2);
  });
});

describe('sync and async commits', () => {
  it('syncCommits (the default) awaits each commit before the next record', async () => {
    broker.injectFault({ apiKey: ApiKey.OffsetCommit, delayMs: 200, count: 3 });
    const seen = await run('commit-sync', { ackMode: AckMode.RECORD }, 3);
    broker.clearFaults();
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, 1, 2]);
  });

  it('syncCommits: false goes on without waiting; the commits land later', async () => {
    const fault = broker.injectFault({ apiKey: ApiKey.OffsetCommit, delayMs: 300, count: 3 });
    const seen = await run('commit-async', { ackMode: AckMode.RECORD, syncCommits: false }, 3);
    expect(seen.map((s) => s.committedBefore)).toEqual([-1, -1, -1]);
    await fault.exhausted;
    await waitForCommit(broker, 'commit-async', 'commit-async', 0, 3);
  });
});
