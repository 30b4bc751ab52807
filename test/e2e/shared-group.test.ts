// Issue 11 item 1: listeners sharing a groupId on different topics (common in Spring, where
// spring.kafka.consumer.group-id is global) each get the partitions of their own topics: kafka-nest's
// consumers assign with Kafka's range semantics, per topic over the members subscribed to it.
import { Injectable } from '@nestjs/common';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { rangeAssign } from '../../libs/core/src/transport/range-assigner.js';
import { brokerPerTest, startApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest({
  topics: [
    { name: 'payments', partitions: 3 },
    { name: 'refunds', partitions: 2 },
    { name: 'audits', partitions: 1 },
  ],
});

describe('listeners sharing a groupId on different topics', () => {
  it('three listeners (one with concurrency 2) in one group each consume every record of their own topics', async () => {
    const seen = new Map<string, string[]>();
    const note = (listener: string, ctx: KafkaContext) => {
      seen.set(listener, [...(seen.get(listener) ?? []), `${ctx.topic}-${ctx.partition}@${ctx.offset}`]);
    };
    @Injectable()
    class Listeners {
      @KafkaListener({ id: 'payments', topics: ['payments'], groupId: 'billing', concurrency: 2, fromBeginning: true })
      onPayment(@Ctx() ctx: KafkaContext) {
        note('payments', ctx);
      }

      @KafkaListener({ id: 'refunds', topics: ['refunds'], groupId: 'billing', fromBeginning: true })
      onRefund(@Ctx() ctx: KafkaContext) {
        note('refunds', ctx);
      }

      @KafkaListener({ id: 'audits', topics: ['audits'], groupId: 'billing', fromBeginning: true })
      onAudit(@Ctx() ctx: KafkaContext) {
        note('audits', ctx);
      }
    }
    env.app = await startApp(env.broker, { providers: [Listeners] });
    const registry = env.app.get(KafkaListenerEndpointRegistry);
    await waitFor(() => env.broker.describeGroup('billing')?.state === 'Stable' && env.broker.describeGroup('billing')!.members.length === 4);
    await waitForAssignment(registry, 'payments', 3);
    await waitForAssignment(registry, 'refunds', 2);
    await waitForAssignment(registry, 'audits', 1);
    expect(registry.assignedPartitions('payments')).toEqual([{ topic: 'payments', partitions: [0, 1, 2] }]);
    expect(registry.assignedPartitions('refunds')).toEqual([{ topic: 'refunds', partitions: [0, 1] }]);
    expect(registry.assignedPartitions('audits')).toEqual([{ topic: 'audits', partitions: [0] }]);
    expect(env.broker.describeGroup('billing')!.protocol).toBe('range');

    const template = env.app.get(KafkaTemplate);
    for (const [topic, partitions] of [['payments', 3], ['refunds', 2], ['audits', 1]] as const) {
      for (let p = 0; p < partitions; p++) await template.send(topic, { p }, { partition: p });
    }
    await waitFor(() => seen.get('payments')?.length === 3 && seen.get('refunds')?.length === 2 && seen.get('audits')?.length === 1);
    expect(seen.get('payments')!.sort()).toEqual(['payments-0@0', 'payments-1@0', 'payments-2@0']);
    expect(seen.get('refunds')!.sort()).toEqual(['refunds-0@0', 'refunds-1@0']);
    expect(seen.get('audits')).toEqual(['audits-0@0']);
  });
});

describe('rangeAssign', () => {
  it("shares each topic's partitions among its subscribers only, in member-id order, the first ones taking the remainder", () => {
    const subscriptions = new Map([
      ['m-b', ['a', 'b']],
      ['m-a', ['a']],
      ['m-c', ['c']],
    ]);
    const result = rangeAssign(subscriptions, new Map([['a', 5], ['b', 2], ['c', 1]]));
    expect(Object.fromEntries(result)).toEqual({
      'm-a': { a: [0, 1, 2] },
      'm-b': { a: [3, 4], b: [0, 1] },
      'm-c': { c: [0] },
    });
  });

  it('gives nothing for an unknown topic, and more members than partitions leaves some members empty', () => {
    const result = rangeAssign(new Map([['m1', ['x', 'gone']], ['m2', ['x']], ['m3', ['x']]]), new Map([['x', 2]]));
    expect(Object.fromEntries(result)).toEqual({ m1: { x: [0] }, m2: { x: [1] }, m3: {} });
  });
});
