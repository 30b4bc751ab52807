// Consumer settings by their Kafka names reach the consumers: seen by the broker (the group's members) or
// in what the consumers do (how much a fetch returns, how long the broker holds one).
import { Injectable } from '@nestjs/common';
import { Ctx, KafkaBatchContext, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate, Payload } from '@kafka-nest/core';
import { waitFor, waitForAssignment } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest();

describe('consumer properties', () => {
  it("client.id, session.timeout.ms and max.poll.interval.ms reach the group; a listener's value overrides the module's", async () => {
    env.broker.createTopics({ name: 'props-group', partitions: 1 });
    @Injectable()
    class Listener {
      @KafkaListener({ id: 'props-group', topics: ['props-group'], groupId: 'props-group', properties: { 'session.timeout.ms': 12_000 } })
      handle() {}
    }
    env.app = await startApp(env.broker, {
      providers: [Listener],
      options: { properties: { 'client.id': 'from-module', 'session.timeout.ms': 20_000, 'max.poll.interval.ms': 90_000 } },
    });
    await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'props-group');

    const [member] = env.broker.describeGroup('props-group')!.members;
    expect(member.clientId).toBe('from-module');
    expect(member.sessionTimeoutMs).toBe(12_000);
    expect(member.rebalanceTimeoutMs).toBe(90_000);
  });

  it('max.partition.fetch.bytes bounds what one fetch brings to a batch listener', async () => {
    env.broker.createTopics({ name: 'props-fetch-bytes', partitions: 1 });
    const sizes: number[] = [];
    let received = 0;
    @Injectable()
    class Listener {
      @KafkaListener({
        id: 'props-fetch-bytes',
        topics: ['props-fetch-bytes'],
        batch: true,
        fromBeginning: true,
        autoStartup: false,
        properties: { 'max.partition.fetch.bytes': 1_024 },
      })
      handle(@Payload() values: string[]) {
        sizes.push(values.length);
        received += values.length;
      }
    }
    env.app = await startApp(env.broker, { providers: [Listener], options: { deserializer: 'string' } });
    const template = env.app.get(KafkaTemplate);
    // One request (one batch) per record, so that the broker can stop between them.
    for (let i = 0; i < 20; i++) await template.send('props-fetch-bytes', 'x'.repeat(300));
    await env.app.get(KafkaListenerEndpointRegistry).start('props-fetch-bytes');
    await waitFor(() => received === 20, { message: '20 records handled' });

    // Four 300-byte values cannot fit in 1 KiB; without the bound, the whole backlog comes in one fetch.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.length).toBeGreaterThanOrEqual(7);
  });

  it('fetch.min.bytes and fetch.max.wait.ms: the broker holds a fetch until enough data or the wait is over', async () => {
    env.broker.createTopics({ name: 'props-min-bytes', partitions: 1 });
    const arrivals: { value: string; at: number }[] = [];
    @Injectable()
    class Listener {
      @KafkaListener({
        id: 'props-min-bytes',
        topics: ['props-min-bytes'],
        properties: { 'fetch.min.bytes': 1_000_000, 'fetch.max.wait.ms': 400 },
      })
      handle(@Payload() value: string, @Ctx() _ctx: KafkaContext) {
        arrivals.push({ value, at: Date.now() });
      }
    }
    env.app = await startApp(env.broker, { providers: [Listener], options: { deserializer: 'string' } });
    await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'props-min-bytes');
    const template = env.app.get(KafkaTemplate);

    await template.send('props-min-bytes', 'first');
    await waitFor(() => arrivals.length === 1, { message: 'the first record' });
    // The consumer's next fetch starts after the first record was handled; a few bytes are far below
    // fetch.min.bytes, so the broker answers it only when fetch.max.wait.ms is over.
    await template.send('props-min-bytes', 'second');
    await waitFor(() => arrivals.length === 2, { message: 'the second record' });
    expect(arrivals[1].at - arrivals[0].at).toBeGreaterThanOrEqual(400);
  });

  it('max.poll.records bounds a batch listener call', async () => {
    env.broker.createTopics({ name: 'props-poll-records', partitions: 1 });
    const sizes: number[] = [];
    @Injectable()
    class Listener {
      @KafkaListener({
        id: 'props-poll-records',
        topics: ['props-poll-records'],
        batch: true,
        fromBeginning: true,
        autoStartup: false,
        properties: { 'max.poll.records': 4 },
      })
      handle(@Payload() values: unknown[], @Ctx() ctx: KafkaBatchContext) {
        expect(ctx.records).toHaveLength(values.length);
        sizes.push(values.length);
      }
    }
    env.app = await startApp(env.broker, { providers: [Listener] });
    await env.app.get(KafkaTemplate).sendBatch('props-poll-records', Array.from({ length: 10 }, (_, i) => ({ value: { i } })));
    await env.app.get(KafkaListenerEndpointRegistry).start('props-poll-records');
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 10, { message: '10 records handled' });
    expect(sizes).toEqual([4, 4, 2]);
  });
});
