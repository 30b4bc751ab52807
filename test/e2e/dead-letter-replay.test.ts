// The step after the DLT: a listener dead-letters orders while its cause is broken; once fixed, the
// DeadLetterReplayer sends them back and the listener processes them; a second replay replays nothing; a
// record that keeps failing is parked after maxReplays; a replay killed half-way loses nothing.
import { fileURLToPath } from 'node:url';
import { Injectable } from '@nestjs/common';
import { Ctx, DeadLetterReplayer, DeadLetterReplayError, DltHandler, DltHeaders, KafkaContext, KafkaListener, KafkaTemplate, Payload, RetryableTopic } from '@kafka-nest/core';
import { ChildApp, getRecords, waitFor } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { beforeEach, describe, expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../fixtures/kafka-app.js';
import { orderFlags, OrdersService, ordersProviders } from '../fixtures/dead-letters/orders-app.js';

const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }, { name: 'orders.DLT', partitions: 2 }] });

beforeEach(() => {
  orderFlags.gatewayDown = true;
});

async function failOrders(ids: string[], extra: Record<string, unknown> = {}) {
  env.app = await startApp(env.broker, { providers: ordersProviders, options: { deadLetters: { maxReplays: 2 } } });
  const template = env.app.get(KafkaTemplate);
  for (const [i, id] of ids.entries()) {
    await template.send('orders', { id, ...extra }, { key: `customer-${i % 3}`, headers: { 'trace-id': `trace-${id}` } });
  }
  await getRecords(env.broker, 'orders.DLT', ids.length, 20_000);
  return { template, service: env.app.get(OrdersService), replayer: env.app.get(DeadLetterReplayer) };
}

describe('DeadLetterReplayer', () => {
  it('lists dead letters with their decoded headers; once the cause is fixed, a replay sends them back once and the listener processes them', async () => {
    const ids = ['o1', 'o2', 'o3', 'o4', 'o5'];
    const { service, replayer } = await failOrders(ids);

    const letters = await replayer.list({ dltTopic: 'orders.DLT' });
    expect(letters).toHaveLength(5);
    const first = letters.find((l) => (l.deserializedValue as { id: string }).id === 'o1')!;
    expect(first.exception.className).toBe('PaymentGatewayDownError');
    expect(first.exception.message).toBe('payment gateway down for order o1');
    expect(first.exception.stackTrace).toMatch(/^PaymentGatewayDownError: payment gateway down for order o1\n\s+at /);
    expect(first.original).toMatchObject({ topic: 'orders', consumerGroup: 'orders-service', timestampType: 'CreateTime' });
    expect(first.original.partition).toBe(first.partition);
    expect(first.headers['trace-id']?.toString()).toBe('trace-o1');
    expect(first.headers[DltHeaders.ORIGINAL_TOPIC]).toBeUndefined();
    expect(first.keyText).toBe('customer-0');
    expect(first).toMatchObject({ replayCount: 0, status: 'pending' });

    orderFlags.gatewayDown = false; // the fix
    const dry = await replayer.replay({ dltTopic: 'orders.DLT', dryRun: true });
    expect(dry).toMatchObject({ replayed: 5, parked: 0, skipped: 0, dryRun: true });
    expect(env.broker.allRecords('orders')).toHaveLength(5); // a dry run produces nothing...
    expect(env.broker.committedOffsets('kafka-nest-dlt-replay.orders.DLT')).toEqual([]); // ...and commits nothing

    const result = await replayer.replay({ dltTopic: 'orders.DLT' });
    expect(result).toMatchObject({ replayed: 5, parked: 0, skipped: 0, dryRun: false });
    await waitFor(() => service.processed.length === 5, { timeoutMs: 20_000, message: 'the replayed orders to be processed' });
    expect(service.processed.map((p) => p.id).sort()).toEqual(ids);
    expect(service.processed.every((p) => p.replayCount === '1')).toBe(true);
    expect(service.processed.map((p) => p.traceId).sort()).toEqual(ids.map((id) => `trace-${id}`));

    // Back on its original partition, same key, no kafka_dlt-* headers, the DLT coordinates in replayed-from.
    const replayed = env.broker.allRecords('orders').filter((r) => r.headers.some((h) => h.key === 'kafka-nest_replay-count'));
    expect(replayed).toHaveLength(5);
    for (const letter of letters) {
      const back = replayed.find((r) => r.headers.some((h) => h.key === 'kafka-nest_replayed-from' && h.value?.toString() === `orders.DLT-${letter.partition}@${letter.offset}`));
      expect(back, `replay of ${letter.partition}@${letter.offset}`).toBeDefined();
      expect(back!.partition).toBe(letter.original.partition);
      expect(back!.key?.toString()).toBe(letter.keyText);
      expect(back!.headers.some((h) => h.key.startsWith('kafka_dlt-'))).toBe(false);
    }

    const again = await replayer.replay({ dltTopic: 'orders.DLT' });
    expect(again).toMatchObject({ replayed: 0, parked: 0, skipped: 0 });
    expect((await replayer.list({ dltTopic: 'orders.DLT' })).map((l) => l.status)).toEqual(Array(5).fill('done'));
    expect(env.broker.allRecords('orders')).toHaveLength(10);
  });

  it('keeps every value of a repeated header: a parked record keeps its dead-letter history, a replayed one its user headers', async () => {
    const producer = new Kafka({ brokers: env.broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const long = (n: number) => Buffer.from(BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, '0'), 'hex');
    const letter = (id: string, replays: number) => ({
      partition: 0,
      key: id,
      value: JSON.stringify({ id }),
      headers: {
        tag: ['first', 'second'],
        ...(replays > 0 && { 'kafka-nest_replay-count': String(replays) }),
        // Dead-lettered twice (Spring's appendOriginalHeaders): the history, oldest first.
        'kafka_dlt-original-topic': ['orders', 'orders'],
        'kafka_dlt-original-offset': [long(3), long(9)],
        'kafka_dlt-exception-fqcn': 'ListenerExecutionFailedError',
        'kafka_dlt-exception-cause-fqcn': 'PaymentGatewayDownError',
      },
    });
    await producer.send({ topic: 'orders.DLT', messages: [letter('parked', 2), letter('replayed', 0)] });
    await producer.disconnect();

    const replayer = new DeadLetterReplayer({ client: { brokers: env.broker.brokers }, maxReplays: 2 });
    expect(await replayer.replay({ dltTopic: 'orders.DLT' })).toMatchObject({ replayed: 1, parked: 1, skipped: 0 });
    const values = (r: { headers: { key: string; value: Buffer | null }[] }, name: string) => r.headers.filter((h) => h.key === name).map((h) => h.value?.toString('hex'));

    const [parked] = env.broker.allRecords('orders.parking');
    expect(values(parked!, 'tag')).toEqual([Buffer.from('first').toString('hex'), Buffer.from('second').toString('hex')]);
    expect(values(parked!, 'kafka_dlt-original-offset')).toEqual([long(3).toString('hex'), long(9).toString('hex')]);
    expect(values(parked!, 'kafka_dlt-original-topic')).toHaveLength(2);

    const replayed = env.broker.allRecords('orders').find((r) => r.key?.toString() === 'replayed')!;
    expect(values(replayed, 'tag')).toEqual([Buffer.from('first').toString('hex'), Buffer.from('second').toString('hex')]);
    expect(values(replayed, 'kafka-nest_replay-count')).toEqual([Buffer.from('1').toString('hex')]);
    expect(replayed.headers.some((h) => h.key.startsWith('kafka_dlt-'))).toBe(false);
  });

  it('parks a record that comes back after maxReplays replays instead of replaying it again', async () => {
    const { replayer } = await failOrders(['poison'], { poison: true });
    orderFlags.gatewayDown = false;
    for (let round = 1; round <= 2; round++) {
      expect(await replayer.replay({ dltTopic: 'orders.DLT' })).toMatchObject({ replayed: 1, parked: 0 });
      await getRecords(env.broker, 'orders.DLT', round + 1, 20_000); // failed again, back in the DLT
    }
    const letters = await replayer.list({ dltTopic: 'orders.DLT' });
    expect(letters.map((l) => [l.replayCount, l.status])).toEqual(
      expect.arrayContaining([[0, 'done'], [1, 'done'], [2, 'pending']]),
    );
    const third = await replayer.replay({ dltTopic: 'orders.DLT' });
    expect(third).toMatchObject({ replayed: 0, parked: 1 });
    expect(third.records[0]).toMatchObject({ action: 'parked', target: 'orders.parking', exceptionClass: 'PoisonOrderError', replayCount: 2 });
    const [parked] = await getRecords(env.broker, 'orders.parking', 1);
    expect(JSON.parse(parked.value!.toString())).toEqual({ id: 'poison', poison: true });
    // Parked with its failure headers, for the human who reviews it.
    expect(parked.headers.find((h) => h.key === DltHeaders.EXCEPTION_CAUSE_FQCN)?.value?.toString()).toBe('PoisonOrderError');
    expect(env.broker.allRecords('orders')).toHaveLength(3); // the original and two replays, no third
    expect(await replayer.replay({ dltTopic: 'orders.DLT' })).toMatchObject({ replayed: 0, parked: 0 });
  });

  it('a filtered replay leaves the other records pending; a later run replays them and not the filtered ones again', async () => {
    const { service, replayer } = await failOrders(['a', 'b', 'c', 'd']);
    const letters = await replayer.list({ dltTopic: 'orders.DLT' });
    const pick = letters.filter((l) => ['b', 'c'].includes((l.deserializedValue as { id: string }).id));
    orderFlags.gatewayDown = false;

    const byRecord = await replayer.replay({ dltTopic: 'orders.DLT', filter: { records: pick.map(({ partition, offset }) => ({ partition, offset })) } });
    expect(byRecord).toMatchObject({ replayed: 2, skipped: 2 });
    await waitFor(() => service.processed.length === 2, { timeoutMs: 20_000, message: 'b and c processed' });
    expect(service.processed.map((p) => p.id).sort()).toEqual(['b', 'c']);
    const status = await replayer.list({ dltTopic: 'orders.DLT' });
    expect(status.map((l) => [(l.deserializedValue as { id: string }).id, l.status]).sort()).toEqual([
      ['a', 'pending'], ['b', 'done'], ['c', 'done'], ['d', 'pending'],
    ]);
    const pending = await replayer.list({ dltTopic: 'orders.DLT', pendingOnly: true });
    expect(pending.map((l) => (l.deserializedValue as { id: string }).id).sort()).toEqual(['a', 'd']);

    expect(await replayer.replay({ dltTopic: 'orders.DLT', filter: { exceptionClass: 'SomethingElse' } })).toMatchObject({ replayed: 0, skipped: 2 });
    const rest = await replayer.replay({ dltTopic: 'orders.DLT', filter: { exceptionClass: 'PaymentGatewayDownError' } });
    expect(rest).toMatchObject({ replayed: 2, skipped: 0 });
    await waitFor(() => service.processed.length === 4, { timeoutMs: 20_000, message: 'a and d processed' });
    expect(service.processed.map((p) => p.id).sort()).toEqual(['a', 'b', 'c', 'd']);
    // Everything handled: the progress is a plain committed offset at the end of each partition again.
    const committed = env.broker.committedOffsets('kafka-nest-dlt-replay.orders.DLT');
    for (const p of env.broker.offsets('orders.DLT')) {
      expect(committed.find((c) => c.partition === p.partition)?.offset ?? 0).toBe(p.endOffset);
    }
    expect(await replayer.replay({ dltTopic: 'orders.DLT' })).toMatchObject({ replayed: 0, skipped: 0 });
  });

  it('filters by original partition, offset range and time; bad options fail with the name of what is wrong', async () => {
    const { replayer } = await failOrders(['x1', 'x2', 'x3']);
    const letters = await replayer.list({ dltTopic: 'orders.DLT' });
    const one = letters[0];
    const dry = await replayer.replay({
      dltTopic: 'orders.DLT',
      dryRun: true,
      filter: { originalPartition: one.original.partition, originalOffsetFrom: one.original.offset, originalOffsetTo: one.original.offset },
    });
    expect(dry.records.filter((r) => r.action === 'replayed').map((r) => [r.partition, r.offset])).toEqual([[one.partition, one.offset]]);
    expect((await replayer.replay({ dltTopic: 'orders.DLT', dryRun: true, filter: { since: Date.now() + 60_000 } })).replayed).toBe(0);
    expect((await replayer.replay({ dltTopic: 'orders.DLT', dryRun: true, filter: { until: new Date(Date.now() + 60_000) } })).replayed).toBe(3);

    await expect(replayer.replay({ dltTopic: 'orders.DLT', filter: { exceptionClas: 'X' } as never })).rejects.toThrow(/unknown key 'exceptionClas'/);
    await expect(replayer.replay({ dltTopic: 'orders.DLT', limit: 0 })).rejects.toThrow(/limit must be an integer >= 1/);
    await expect(replayer.list({ dltTopic: 'nope.DLT' })).rejects.toThrow(DeadLetterReplayError);
    await expect(replayer.list({ dltTopic: 'nope.DLT' })).rejects.toThrow(/'nope.DLT' does not exist/);
    expect(() => new DeadLetterReplayer({ client: { brokers: [] } })).toThrow(/needs a client with brokers/);
  });

  it('replays a @RetryableTopic DLT to the main topic, where the record goes through its retries afresh', async () => {
    const deliveries: { id: string; topic: string; attempt: number; replay?: string }[] = [];
    @Injectable()
    class Payments {
      @RetryableTopic({ attempts: 2, backoff: { delay: 10 } })
      @KafkaListener({ id: 'payments', topics: ['payments'], groupId: 'payments-service', fromBeginning: true })
      charge(@Payload() p: { id: string }, @Ctx() ctx: KafkaContext) {
        deliveries.push({ id: p.id, topic: ctx.topic, attempt: ctx.deliveryAttempt, replay: ctx.headers['kafka-nest_replay-count']?.toString() });
        if (orderFlags.gatewayDown) throw new Error(`gateway down for ${p.id}`);
      }

      @DltHandler()
      dead() {}
    }
    env.app = await startApp(env.broker, { providers: [Payments] });
    await env.app.get(KafkaTemplate).send('payments', { id: 'p1' });
    await getRecords(env.broker, 'payments-dlt', 1, 20_000);
    expect(deliveries.map((d) => d.topic)).toEqual(['payments', 'payments-retry']);
    orderFlags.gatewayDown = false;

    const replayer = env.app.get(DeadLetterReplayer);
    expect(await replayer.deadLetterTopics()).toEqual(['orders.DLT', 'payments-dlt']);
    const [letter] = await replayer.list({ dltTopic: 'payments-dlt' });
    expect(letter.original.topic).toBe('payments');
    expect(Object.keys(letter.headers).some((h) => h.startsWith('retry_topic-'))).toBe(true);
    expect(await replayer.replay({ dltTopic: 'payments-dlt' })).toMatchObject({ replayed: 1 });
    await waitFor(() => deliveries.length === 3, { timeoutMs: 20_000, message: 'the replayed payment' });
    expect(deliveries[2]).toEqual({ id: 'p1', topic: 'payments', attempt: 1, replay: '1' });
    const replayed = env.broker.allRecords('payments').find((r) => r.headers.some((h) => h.key === 'kafka-nest_replay-count'))!;
    expect(replayed.headers.filter((h) => h.key.startsWith('retry_topic-') || h.key.startsWith('kafka_dlt-'))).toEqual([]);
  });

  it('a replay SIGKILLed half-way and restarted loses nothing and replays at most one record twice per interruption', async () => {
    const { broker } = env;
    const template = new DeadLetterReplayer({ client: { brokers: broker.brokers } });
    // 300 dead letters written as a kafka-nest (or Spring) recoverer writes them.
    const { Kafka, logLevel } = await import('kafkajs');
    const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const long = (n: number) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n)); return b; };
    const int = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
    for (let p = 0; p < 2; p++) {
      await producer.send({
        topic: 'orders.DLT',
        messages: Array.from({ length: 150 }, (_, i) => ({
          partition: p,
          key: `k${i}`,
          value: JSON.stringify({ id: `${p}-${i}` }),
          headers: {
            [DltHeaders.ORIGINAL_TOPIC]: 'orders',
            [DltHeaders.ORIGINAL_PARTITION]: int(p),
            [DltHeaders.ORIGINAL_OFFSET]: long(i),
            [DltHeaders.EXCEPTION_FQCN]: 'PaymentGatewayDownError',
          },
        })),
      });
    }
    await producer.disconnect();

    const committed = () => broker.committedOffsets('kafka-nest-dlt-replay.orders.DLT').reduce((n, c) => n + c.offset, 0);
    // Two runs killed at the two points that matter: while a replayed record's produce is in flight (its
    // commit must not have happened yet, or the record would be lost), and while the commit after a
    // produce is in flight (the record is then replayed once more after the restart).
    for (const [round, apiKey, topic] of [[1, 0, 'orders'], [2, 8, undefined]] as const) {
      const child = ChildApp.start({
        entry: fileURLToPath(new URL('../fixtures/dead-letters/replay-child.ts', import.meta.url)),
        env: { BROKERS: broker.brokers.join(','), DLT: 'orders.DLT' },
      });
      try {
        await child.waitForMessage('ready');
        await waitFor(() => committed() >= round * 60, { timeoutMs: 30_000, message: `run ${round} to replay ${round * 60} records (${committed()})` });
        const held = broker.injectFault({ apiKey, ...(topic && { topic }), delayMs: 60_000 });
        await waitFor(() => held.hits === 1, { timeoutMs: 10_000, message: `a ${apiKey === 0 ? 'produce' : 'commit'} to hold` });
        await child.kill('SIGKILL');
        held.clear();
        broker.clearFaults();
      } finally {
        await child.kill('SIGKILL');
      }
    }
    const beforeRestart = broker.allRecords('orders').length;
    expect(beforeRestart).toBeLessThan(300); // killed half-way

    const result = await template.replay({ dltTopic: 'orders.DLT' });
    const all = broker.allRecords('orders');
    const from = all.map((r) => r.headers.find((h) => h.key === 'kafka-nest_replayed-from')!.value!.toString());
    const unique = new Set(from);
    expect(unique.size).toBe(300); // nothing lost
    expect(all.length - unique.size).toBeLessThanOrEqual(2); // the documented bound: one extra replay per interrupted run
    expect(result.replayed).toBe(all.length - beforeRestart);
    expect(await template.replay({ dltTopic: 'orders.DLT' })).toMatchObject({ replayed: 0 });
  }, 90_000);
});
