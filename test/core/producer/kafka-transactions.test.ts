// The transactional producers behind KafkaTemplate and transactional listeners, on real kafkajs producers
// against the embedded broker.
import { createKafkaTestBroker } from '@kafka-nest/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkajsTransport } from '@kafka-nest/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTransaction, TransactionalProducers } from '../../../libs/core/src/producer/kafka-transactions.js';

let broker: EmbeddedKafkaBroker;
let producers: TransactionalProducers;

beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'queued' }, { name: 'pooled' }] });
  const transport = new KafkajsTransport();
  producers = new TransactionalProducers('unit-tx-', (transactionalId) =>
    transport.createProducer({ brokers: broker.brokers }, { acks: -1, idempotent: true, allowAutoTopicCreation: false, transactionalId }),
  );
});
afterAll(async () => {
  await producers?.close();
  await broker?.stop();
});

describe('TransactionalProducers', () => {
  it('runs overlapping calls for one dedicated id one after another (a partition held by two consumers during a rebalance)', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = producers.executeOn('g.queued.0', async (scope) => {
      order.push('first:start');
      await scope.transaction.send('queued', [{ key: null, value: 'first' }]);
      await gate;
      order.push('first:end');
    });
    const second = producers.executeOn('g.queued.0', async (scope) => {
      order.push('second:start');
      expect(currentTransaction()?.transactionalId).toBe('unit-tx-g.queued.0');
      await scope.transaction.send('queued', [{ key: null, value: 'second' }]);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual(['first:start']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second:start']);
    expect(broker.committedRecords('queued').map((r) => r.value!.toString())).toEqual(['first', 'second']);
  });

  it('lends concurrent execute calls separate pooled producers, <prefix>0, <prefix>1, and reuses them', async () => {
    const ids: string[] = [];
    const run = () => producers.execute(async (scope) => {
      ids.push(scope.transactionalId);
      await scope.transaction.send('pooled', [{ key: null, value: scope.transactionalId }]);
    });
    await Promise.all([run(), run()]);
    await run();
    expect(ids.slice(0, 2).sort()).toEqual(['unit-tx-0', 'unit-tx-1']);
    expect(['unit-tx-0', 'unit-tx-1']).toContain(ids[2]);
  });
});
