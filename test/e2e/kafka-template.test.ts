// KafkaTemplate: what send, sendBatch and sendDefault write, and what they resolve to.
import type { INestApplicationContext } from '@nestjs/common';
import { ApiKey, type EmbeddedKafkaBroker, ErrorCode } from '@kafka-nest/broker';
import { KafkaProducerError, KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker, getSingleRecord } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;
let template: KafkaTemplate;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'out', partitions: 3 }, { name: 'default-topic' }, { name: 'bytes' }, { name: 'acks' }] });
  app = await startApp(broker, { options: { producer: { defaultTopic: 'default-topic' } } });
  template = app.get(KafkaTemplate);
});
afterAll(async () => {
  await app.close();
  await broker.stop();
});

describe('KafkaTemplate', () => {
  it('send() writes objects as JSON, with key, headers, partition and timestamp, and resolves to where it landed', async () => {
    const meta = await template.send('out', { id: 1 }, { key: 'k', headers: { a: 'x', b: Buffer.from([1, 2]) }, partition: 2, timestamp: 1_700_000_000_000 });
    expect(meta).toEqual({ topic: 'out', partition: 2, offset: 0, timestamp: 1_700_000_000_000 });
    const [r] = broker.records('out', 2);
    expect(JSON.parse(r.value!.toString())).toEqual({ id: 1 });
    expect(r.key).toEqual(Buffer.from('k'));
    expect(r.headers).toEqual([{ key: 'a', value: Buffer.from('x') }, { key: 'b', value: Buffer.from([1, 2]) }]);
    expect(Number(r.timestamp)).toBe(1_700_000_000_000);
  });

  it('Buffers and null values go as they are; strings as UTF-8', async () => {
    const raw = Buffer.from([0, 255, 7]);
    await template.send('bytes', raw, { key: Buffer.from([9]) });
    await template.send('bytes', null, { key: 'gone' });
    await template.send('bytes', 'héllo');
    const records = broker.records('bytes', 0);
    expect(records[0].value).toEqual(raw);
    expect(records[0].key).toEqual(Buffer.from([9]));
    expect(records[1].value).toBeNull();
    expect(records[2].value).toEqual(Buffer.from('héllo', 'utf8'));
  });

  it('a keyed record always lands on the same partition', async () => {
    const a = await template.send('out', 1, { key: 'customer-42' });
    const b = await template.send('out', 2, { key: 'customer-42' });
    expect(b.partition).toBe(a.partition);
    expect(b.offset).toBe(a.offset + 1);
  });

  it('sendBatch() writes in one request and resolves per record, in order', async () => {
    const metas = await template.sendBatch('out', [
      { value: 'x', partition: 1 },
      { value: 'y', partition: 1 },
    ]);
    const end = broker.endOffset('out', 1);
    expect(metas.map((m) => [m.partition, m.offset])).toEqual([[1, end - 2], [1, end - 1]]);
    expect(await template.sendBatch('out', [])).toEqual([]);
  });

  it('sendBatch() over several partitions resolves each record to where the broker wrote it', async () => {
    const records = Array.from({ length: 12 }, (_, i) => ({ value: `v${i}`, key: `spread-${i}` }));
    const metas = await template.sendBatch('out', records);
    expect(new Set(metas.map((m) => m.partition)).size).toBeGreaterThan(1);
    metas.forEach((m, i) => {
      const written = broker.records('out', m.partition, m.offset)[0];
      expect([written.key!.toString(), written.value!.toString()]).toEqual([`spread-${i}`, `v${i}`]);
    });
  });

  it('sendDefault() writes to producer.defaultTopic', async () => {
    await template.sendDefault({ hello: 'world' });
    const r = await getSingleRecord(broker, 'default-topic');
    expect(JSON.parse(r.value!.toString())).toEqual({ hello: 'world' });
  });

  it('refuses an undefined value, an empty topic and a missing default topic with the fix', async () => {
    await expect(template.send('out', undefined)).rejects.toThrow(`KafkaTemplate: the value for 'out' is undefined; send null for a tombstone`);
    await expect(template.send('', 1)).rejects.toThrow(KafkaProducerError);
    const other = await startApp(broker, {});
    try {
      await expect(other.get(KafkaTemplate).sendDefault(1)).rejects.toThrow(
        `KafkaTemplate.sendDefault: no default topic; set 'producer.defaultTopic' in KafkaModule.forRoot`,
      );
    } finally {
      await other.close();
    }
  });

  it("a send's acks overrides producer.acks: with acks 0 set, acks -1 waits for the broker and sees a refusal", async () => {
    const fireAndForget = await startApp(broker, { options: { producer: { acks: 0 } } });
    try {
      const t = fireAndForget.get(KafkaTemplate);
      const refusal = () => broker.injectFault({ apiKey: ApiKey.Produce, topic: 'acks', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      // producer.acks 0: nothing waits for the broker, so a refused send resolves (offset unknown) and is lost.
      // (The broker then closes the connection, as Kafka does after refusing an acks-0 produce; the producer reconnects.)
      let refused = refusal();
      expect(await t.send('acks', 'lost')).toMatchObject({ topic: 'acks', offset: -1 });
      await refused.exhausted;
      expect(broker.records('acks', 0)).toEqual([]);

      // acks -1 for one send or batch: the refusal reaches the caller; without one, it resolves to its offset.
      refused = refusal();
      await expect(t.send('acks', 'refused', { acks: -1 })).rejects.toThrow(KafkaProducerError);
      refused = refusal();
      await expect(t.sendBatch('acks', [{ value: 'refused too' }], { acks: -1 })).rejects.toThrow(KafkaProducerError);
      expect(await t.send('acks', 'kept', { acks: -1 })).toMatchObject({ topic: 'acks', partition: 0, offset: 0 });
      expect(broker.records('acks', 0).map((r) => r.value!.toString())).toEqual(['kept']);
    } finally {
      await fireAndForget.close();
    }
  });

  it('refuses an acks an idempotent producer cannot give, and one that is not -1, 0 or 1', async () => {
    const idempotent = await startApp(broker, { options: { producer: { idempotent: true } } });
    try {
      const t = idempotent.get(KafkaTemplate);
      await expect(t.send('acks', 'x', { acks: 1 })).rejects.toThrow(
        'KafkaTemplate: acks 1 on an idempotent producer; idempotence needs acks -1 (all), so leave acks out or give -1',
      );
      await expect(t.send('acks', 'x', { acks: 2 as -1 })).rejects.toThrow('KafkaTemplate: acks must be -1 (all), 1 (leader) or 0 (none), got 2');
    } finally {
      await idempotent.close();
    }
  });

  it('partitionsFor() tells the partition count, or undefined for a missing topic', async () => {
    expect(await template.partitionsFor('out')).toBe(3);
    expect(await template.partitionsFor('no-such-topic')).toBeUndefined();
  });
});
