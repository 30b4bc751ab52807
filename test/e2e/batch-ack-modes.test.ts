// Each ack mode's commit points for batch listeners, read from the broker's committed offsets at each call
// of the method and after the fetch: 10 records in one fetch, handed over 4 at a time (max.poll.records).
import { Injectable } from '@nestjs/common';
import { Ack, type Acknowledgment, AckMode, Ctx, KafkaBatchContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForCommit } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, committed, startApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest();

/** What was committed when each call of the method began, with the offsets it was given. */
interface Call {
  offsets: number[];
  committedBefore: number;
}

async function run(name: string, ackMode: AckMode, onCall: (call: number, ack: Acknowledgment) => Promise<void> | void = () => undefined) {
  env.broker.createTopics({ name, partitions: 1 });
  const calls: Call[] = [];
  @Injectable()
  class Listener {
    @KafkaListener({ id: name, topics: [name], batch: true, fromBeginning: true, autoStartup: false, ackMode, properties: { 'max.poll.records': 4 } })
    async handle(@Ctx() ctx: KafkaBatchContext, @Ack() ack: Acknowledgment) {
      calls.push({ offsets: ctx.records.map((r) => r.offset), committedBefore: committed(env.broker, name, name) });
      await onCall(calls.length - 1, ack);
    }
  }
  env.app = await startApp(env.broker, { providers: [Listener] });
  // One request, so that the ten records arrive in one fetch.
  await env.app.get(KafkaTemplate).sendBatch(name, Array.from({ length: 10 }, (_, i) => ({ value: { i } })));
  await env.app.get(KafkaListenerEndpointRegistry).start(name);
  await waitFor(() => calls.reduce((n, c) => n + c.offsets.length, 0) >= 10, { message: '10 records handled' });
  expect(calls.map((c) => c.offsets)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  return calls;
}

describe('batch listener ack modes', () => {
  it('RECORD and BATCH commit after each call of the method', async () => {
    for (const [name, mode] of [['batch-ack-record', AckMode.RECORD], ['batch-ack-batch', AckMode.BATCH]] as const) {
      const calls = await run(name, mode);
      expect(calls.map((c) => c.committedBefore)).toEqual([-1, 4, 8]);
      await waitForCommit(env.broker, name, name, 0, 10);
      await env.app!.close();
      env.app = undefined;
    }
  });

  it("MANUAL commits the acknowledged calls once the fetch's records are processed; an unacknowledged call stays uncommitted", async () => {
    const calls = await run('batch-ack-manual', AckMode.MANUAL, async (call, ack) => {
      if (call < 2) await ack.acknowledge();
    });
    expect(calls.map((c) => c.committedBefore)).toEqual([-1, -1, -1]);
    await waitForCommit(env.broker, 'batch-ack-manual', 'batch-ack-manual', 0, 8);
    await env.app!.close();
    env.app = undefined;
    expect(committed(env.broker, 'batch-ack-manual', 'batch-ack-manual')).toBe(8);
  });

  it('MANUAL_IMMEDIATE commits the whole call on acknowledge()', async () => {
    const calls = await run('batch-ack-immediate', AckMode.MANUAL_IMMEDIATE, async (call, ack) => {
      if (call !== 1) await ack.acknowledge();
    });
    expect(calls.map((c) => c.committedBefore)).toEqual([-1, 4, 4]);
    await env.app!.close();
    env.app = undefined;
    expect(committed(env.broker, 'batch-ack-immediate', 'batch-ack-immediate')).toBe(10);
  });
});
