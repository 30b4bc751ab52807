/**
 * Issue 11 item 1 with a member that is not kafka-nest: a confluent-kafka (librdkafka) consumer using
 * `partition.assignment.strategy=range` shares a group with kafka-nest listeners on other topics (one with
 * concurrency 2). Whichever member leads the group (librdkafka's RangeAssignor, or kafka-nest's range
 * assigner reading librdkafka's subscription), every member gets the partitions of its own topics only.
 */
import { Injectable } from '@nestjs/common';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { Ctx, KafkaContext, KafkaListener } from '@kafka-nest/core';
import { waitFor } from '@kafka-nest/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';
import { kafkajs, type PythonConsumeResult, python, unb64 } from './support/clients.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext | undefined;
beforeEach(async () => {
  broker = await EmbeddedKafkaBroker.start({
    logger: silentLogger,
    topics: [
      { name: 'mx-orders', partitions: 2 },
      { name: 'mx-refunds', partitions: 2 },
      { name: 'mx-legacy', partitions: 2 },
    ],
  });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await broker.stop();
});

function listeners(seen: string[]) {
  @Injectable()
  class Listeners {
    @KafkaListener({ id: 'mx-orders', topics: ['mx-orders'], groupId: 'mixed', concurrency: 2, fromBeginning: true, deserializer: 'string' })
    onOrder(@Ctx() ctx: KafkaContext) {
      seen.push(`${ctx.topic}-${ctx.partition}`);
    }

    @KafkaListener({ id: 'mx-refunds', topics: ['mx-refunds'], groupId: 'mixed', fromBeginning: true, deserializer: 'string' })
    onRefund(@Ctx() ctx: KafkaContext) {
      seen.push(`${ctx.topic}-${ctx.partition}`);
    }
  }
  return Listeners;
}

async function produceTwoPerPartition(): Promise<void> {
  const producer = kafkajs(broker.brokers).producer();
  await producer.connect();
  for (const topic of ['mx-orders', 'mx-refunds', 'mx-legacy']) {
    await producer.send({ topic, acks: -1, messages: [0, 1, 0, 1].map((partition, i) => ({ partition, value: `${topic}-${i}` })) });
  }
  await producer.disconnect();
}

const legacyConsumer = () =>
  python<PythonConsumeResult>('confluent', {
    op: 'consume',
    bootstrap: broker.brokers[0],
    topic: 'mx-legacy',
    group: 'mixed',
    count: 4,
    timeout_ms: 40_000,
    config: { 'partition.assignment.strategy': 'range', 'session.timeout.ms': 10_000 },
  });

const isLegacy = (m: { clientId: string }) => m.clientId === 'compat-confluent';

describe('a group shared by kafka-nest listeners and a librdkafka member', () => {
  it.each(['librdkafka', 'kafka-nest'])('each member consumes its own topics (%s leads the group)', async (leader) => {
    const seen: string[] = [];
    let legacy: Promise<PythonConsumeResult>;
    if (leader === 'librdkafka') {
      legacy = legacyConsumer();
      await waitFor(() => broker.describeGroup('mixed')?.members.some(isLegacy), { timeoutMs: 20_000 });
      app = await startApp(broker, { providers: [listeners(seen)] });
    } else {
      app = await startApp(broker, { providers: [listeners(seen)] });
      await waitFor(() => broker.describeGroup('mixed')?.state === 'Stable' && broker.describeGroup('mixed')!.members.length === 3);
      legacy = legacyConsumer();
    }
    await waitFor(
      () => {
        const g = broker.describeGroup('mixed');
        return g?.state === 'Stable' && g.members.length === 4 && g.members.some(isLegacy) && g.protocol === 'range';
      },
      { timeoutMs: 30_000 },
    );
    await produceTwoPerPartition();

    const { records } = await legacy;
    expect(records.map((r) => unb64(r.value)!.toString()).sort()).toEqual(['mx-legacy-0', 'mx-legacy-1', 'mx-legacy-2', 'mx-legacy-3']);
    await waitFor(() => seen.length >= 8, { timeoutMs: 20_000 });
    expect(seen.sort()).toEqual([
      'mx-orders-0',
      'mx-orders-0',
      'mx-orders-1',
      'mx-orders-1',
      'mx-refunds-0',
      'mx-refunds-0',
      'mx-refunds-1',
      'mx-refunds-1',
    ]);
  });
});
