// KafkaTemplate with transactionIdPrefix: executeInTransaction commits or aborts what it sent, sends outside a
// transaction are refused (unless allowed), offsets go into the transaction, and listeners read read_committed.
import type { INestApplicationContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaListener, KafkaProducerError, KafkaTemplate, KafkaTransactionError, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;
let template: KafkaTemplate;
const values = (topic: string, partition = 0) => broker.committedRecords(topic, partition).map((r) => r.value!.toString());

beforeAll(async () => {
  broker = await createKafkaTestBroker({
    topics: ['tx-out', 'tx-audit', 'tx-aborted', 'tx-refused', 'tx-parallel', 'tx-offsets-in', 'tx-offsets-out', 'tx-nested'].map((name) => ({ name })),
  });
  app = await startApp(broker, { options: { transactionIdPrefix: 'orders-tx-' } });
  template = app.get(KafkaTemplate);
});
afterAll(async () => {
  await app?.close();
  await broker?.stop();
});

describe('KafkaTemplate.executeInTransaction', () => {
  it('commits what the callback sent, to every topic, and resolves to what it returned', async () => {
    expect(template.isTransactional()).toBe(true);
    const result = await template.executeInTransaction(async (t) => {
      expect(t.inTransaction()).toBe(true);
      await t.send('tx-out', { order: 1 });
      // the injected template joins the same transaction
      await template.send('tx-audit', 'order 1 accepted');
      return 'done';
    });

    expect(result).toBe('done');
    expect(template.inTransaction()).toBe(false);
    expect(values('tx-out')).toEqual(['{"order":1}']);
    expect(values('tx-audit')).toEqual(['order 1 accepted']);
    expect(broker.transactions().find((t) => t.transactionalId === 'orders-tx-0')).toMatchObject({ state: 'CompleteCommit' });
  });

  it('aborts when the callback throws: the records are written but invisible to read_committed, and the error is rethrown', async () => {
    const failure = new Error('payment declined');
    const thrown = await template
      .executeInTransaction(async (t) => {
        await t.send('tx-aborted', 'half-done');
        throw failure;
      })
      .catch((e) => e);

    expect(thrown).toBe(failure);
    expect(broker.records('tx-aborted').map((r) => r.value!.toString())).toEqual(['half-done']);
    expect(values('tx-aborted')).toEqual([]);
    expect(broker.lastStableOffset('tx-aborted')).toBe(broker.endOffset('tx-aborted'));
  });

  it('refuses a send outside a transaction, and a nested executeInTransaction, naming the fix', async () => {
    const outside = await template.send('tx-refused', 'x').catch((e) => e);
    expect(outside).toBeInstanceOf(KafkaProducerError);
    expect(outside.message).toBe(
      "KafkaTemplate: no transaction is in process for the send to 'tx-refused' and the template is transactional (transactionIdPrefix is set); " +
        "send inside template.executeInTransaction(...) or a transactional listener, or set 'producer.allowNonTransactional' to send outside transactions",
    );
    expect(broker.endOffset('tx-refused')).toBe(0);

    const nested = await template
      .executeInTransaction(async (t) => {
        await t.send('tx-nested', 'outer');
        await t.executeInTransaction(async () => undefined);
      })
      .catch((e) => e);
    expect(nested).toBeInstanceOf(KafkaTransactionError);
    expect(nested.message).toMatch(/nested calls are not allowed; this code already runs in the transaction of producer 'orders-tx-\d+'/);
    expect(values('tx-nested')).toEqual([]);
  });

  it('runs concurrent transactions on separate producers', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = template.executeInTransaction(async (t) => {
      await t.send('tx-parallel', 'first');
      await gate;
    });
    const second = template.executeInTransaction(async (t) => {
      await t.send('tx-parallel', 'second');
    });
    await second;
    // the second committed while the first is still open: read_committed waits for the first (LSO)
    expect(broker.transactions().filter((t) => t.state === 'Ongoing').map((t) => t.partitions)).toEqual([['tx-parallel-0']]);
    release();
    await first;
    expect(values('tx-parallel').sort()).toEqual(['first', 'second']);
    expect(broker.transactions().map((t) => t.transactionalId).filter((id) => id.startsWith('orders-tx-')).length).toBeGreaterThanOrEqual(2);
  });

  it('commits offsets sent into the transaction only with it (sendOffsetsToTransaction)', async () => {
    await template
      .executeInTransaction(async (t) => {
        await t.send('tx-offsets-out', 'result-a');
        await t.sendOffsetsToTransaction([{ topic: 'tx-offsets-in', partition: 0, offset: 4 }], 'tx-offsets-group');
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    expect(broker.committedOffsets('tx-offsets-group')).toEqual([]);

    await template.executeInTransaction(async (t) => {
      await t.send('tx-offsets-out', 'result-b');
      await t.sendOffsetsToTransaction([{ topic: 'tx-offsets-in', partition: 0, offset: 5 }], 'tx-offsets-group');
    });
    expect(broker.committedOffsets('tx-offsets-group').map(({ topic, offset }) => [topic, offset])).toEqual([['tx-offsets-in', 5]]);
    expect(values('tx-offsets-out')).toEqual(['result-b']);
    await expect(template.sendOffsetsToTransaction([{ topic: 'tx-offsets-in', partition: 0, offset: 6 }], 'tx-offsets-group')).rejects.toThrow(
      /no transaction is in process/,
    );
  });
});

describe('transactional templates, configured otherwise', () => {
  it('sends outside transactions through a plain producer with producer.allowNonTransactional', async () => {
    const other = await startApp(broker, { options: { transactionIdPrefix: 'allow-tx-', producer: { allowNonTransactional: true } } });
    try {
      const t = other.get(KafkaTemplate);
      await t.send('tx-refused', 'plain');
      await t.executeInTransaction((op) => op.send('tx-refused', 'transactional'));
      expect(values('tx-refused')).toEqual(['plain', 'transactional']);
    } finally {
      await other.close();
    }
  });

  it('refuses executeInTransaction on a template without transactionIdPrefix, and an empty prefix at start-up', async () => {
    const plain = await startApp(broker);
    try {
      await expect(plain.get(KafkaTemplate).executeInTransaction(async () => 1)).rejects.toThrow(
        "KafkaTemplate.executeInTransaction: the template is not transactional; set 'transactionIdPrefix' in KafkaModule.forRoot",
      );
    } finally {
      await plain.close();
    }
    await expect(startApp(broker, { options: { transactionIdPrefix: '' } })).rejects.toThrow(
      "KafkaModule option 'transactionIdPrefix' must be a non-empty string, got \"\"; leave it out to turn transactions off",
    );
  });
});

describe('isolation.level of listeners', () => {
  const received = new Map<string, string[]>();
  function listenerOn(id: string, properties?: Record<string, string>) {
    @Injectable()
    class Reader {
      @KafkaListener({ id, topics: ['tx-mixed'], fromBeginning: true, ...(properties && { properties }) })
      on(@Payload() value: string) {
        received.set(id, [...(received.get(id) ?? []), value]);
      }
    }
    return Reader;
  }

  beforeAll(async () => {
    broker.createTopics({ name: 'tx-mixed' });
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: 'outside-writer', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const [value, commit] of [['"aborted"', false], ['"committed"', true]] as const) {
      const txn = await producer.transaction();
      await txn.send({ topic: 'tx-mixed', messages: [{ value }] });
      await (commit ? txn.commit() : txn.abort());
    }
    await producer.disconnect();
  });

  it('reads read_committed by default when transactions are on, read_uncommitted otherwise, and follows the property', async () => {
    const apps = [
      await startApp(broker, { options: { transactionIdPrefix: 'iso-tx-' }, providers: [listenerOn('iso-transactional')] }),
      await startApp(broker, { providers: [listenerOn('iso-plain')] }),
      await startApp(broker, { options: { transactionIdPrefix: 'iso-tx2-' }, providers: [listenerOn('iso-override', { 'isolation.level': 'read_uncommitted' })] }),
    ];
    try {
      await waitFor(() => received.get('iso-plain')?.length === 2 && received.get('iso-override')?.length === 2 && received.get('iso-transactional')?.length === 1, {
        message: `listeners to read tx-mixed, got ${JSON.stringify([...received])}`,
      });
      expect(received.get('iso-transactional')).toEqual(['committed']);
      expect(received.get('iso-plain')).toEqual(['aborted', 'committed']);
      expect(received.get('iso-override')).toEqual(['aborted', 'committed']);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
