/**
 * Transactions with kafkajs against the embedded broker: kafkajs's transactional producer
 * (`producer.transaction()`, `sendOffsets`) and its consumers, which read `read_committed` unless told
 * otherwise. Committed records are visible, aborted ones are not (though a read_uncommitted consumer sees
 * them), an open transaction holds back the last stable offset, offsets sent into a transaction appear
 * only when it commits, a second producer with the same transactional id fences the first, and a
 * transaction left open past its timeout is aborted.
 */
import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { RawClient } from './raw-client.js';
import { encodeBatch } from './support/record-batch.js';
import { waitFor } from './support/wait.js';

describe('transactions with kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  const open: (Producer | Consumer)[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    kafka = new Kafka({ brokers: broker.brokers, clientId: 'txn-test', logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect().catch(() => {})));
  });

  afterAll(async () => {
    await broker?.stop();
  });

  async function transactionalProducer(transactionalId: string, transactionTimeout?: number): Promise<Producer> {
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout, retry: { retries: 2, initialRetryTime: 50 } });
    open.push(producer);
    await producer.connect();
    return producer;
  }

  /** Values read from the start of `topic` by a fresh group, until `count` arrived. */
  async function consume(topic: string, count: number, readUncommitted = false): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}`, readUncommitted, maxWaitTimeInMs: 100 });
    open.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor(() => values.length >= count, 15_000, `${count} records from ${topic}`);
    return values;
  }

  it('shows committed records to read_committed consumers and hides aborted ones, which read_uncommitted consumers see', async () => {
    broker.createTopics({ name: 'tx-visibility', partitions: 1 });
    const producer = await transactionalProducer('tx-visibility-producer');

    const aborted = await producer.transaction();
    await aborted.send({ topic: 'tx-visibility', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic: 'tx-visibility', messages: [{ value: 'committed-1' }] });
    await committed.send({ topic: 'tx-visibility', messages: [{ value: 'committed-2' }] });
    await committed.commit();
    const plain = kafka.producer();
    open.push(plain);
    await plain.connect();
    await plain.send({ topic: 'tx-visibility', messages: [{ value: 'plain' }] });

    // 2 aborted, ABORT marker, 2 committed, COMMIT marker, 1 plain
    expect(broker.endOffset('tx-visibility')).toBe(7);
    expect(broker.lastStableOffset('tx-visibility')).toBe(7);
    expect(broker.committedRecords('tx-visibility').map((r) => r.value!.toString())).toEqual(['committed-1', 'committed-2', 'plain']);
    expect(await consume('tx-visibility', 3)).toEqual(['committed-1', 'committed-2', 'plain']);
    expect(await consume('tx-visibility', 5, true)).toEqual(['aborted-1', 'aborted-2', 'committed-1', 'committed-2', 'plain']);
    expect(broker.transactions().find((t) => t.transactionalId === 'tx-visibility-producer')).toMatchObject({ state: 'CompleteCommit', partitions: [] });
  });

  it('holds the last stable offset at an open transaction: later records wait for it to end', async () => {
    broker.createTopics({ name: 'tx-lso', partitions: 1 });
    const producer = await transactionalProducer('tx-lso-producer');
    const plain = kafka.producer();
    open.push(plain);
    await plain.connect();

    await plain.send({ topic: 'tx-lso', messages: [{ value: 'before' }] });
    const txn = await producer.transaction();
    await txn.send({ topic: 'tx-lso', messages: [{ value: 'in-txn' }] });
    await plain.send({ topic: 'tx-lso', messages: [{ value: 'after' }] });

    expect(broker.lastStableOffset('tx-lso')).toBe(1);
    expect(broker.transactions().find((t) => t.transactionalId === 'tx-lso-producer')).toMatchObject({ state: 'Ongoing', partitions: ['tx-lso-0'] });
    const admin = kafka.admin();
    open.push(admin as unknown as Producer);
    await admin.connect();
    // kafkajs's admin lists offsets read_committed: the latest offset is the last stable offset, not the high watermark (3)
    expect((await admin.fetchTopicOffsets('tx-lso'))[0]).toMatchObject({ offset: '1', high: '1' });

    const consumer = kafka.consumer({ groupId: 'tx-lso-reader', maxWaitTimeInMs: 100 });
    open.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'tx-lso', fromBeginning: true });
    const values: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor(() => values.length >= 1, 10_000, 'the record before the transaction');
    // Several fetches go by; none may pass the open transaction.
    let fetches = 0;
    consumer.on(consumer.events.FETCH, () => void fetches++);
    await waitFor(() => fetches >= 3, 10_000, 'three more fetches');
    expect(values).toEqual(['before']);

    await txn.commit();
    await waitFor(() => values.length >= 3, 10_000, 'the records after the commit');
    expect(values).toEqual(['before', 'in-txn', 'after']);
  });

  it('commits offsets sent into a transaction only when it commits', async () => {
    broker.createTopics({ name: 'tx-offsets-in', partitions: 2 }, { name: 'tx-offsets-out', partitions: 1 });
    const producer = await transactionalProducer('tx-offsets-producer');
    const offsets = (offset: string) => ({ consumerGroupId: 'tx-offsets-group', topics: [{ topic: 'tx-offsets-in', partitions: [{ partition: 1, offset }] }] });

    const aborted = await producer.transaction();
    await aborted.send({ topic: 'tx-offsets-out', messages: [{ value: 'x' }] });
    await aborted.sendOffsets(offsets('5'));
    expect(broker.committedOffsets('tx-offsets-group')).toEqual([]);
    await aborted.abort();
    expect(broker.committedOffsets('tx-offsets-group')).toEqual([]);

    const committed = await producer.transaction();
    await committed.send({ topic: 'tx-offsets-out', messages: [{ value: 'y' }] });
    await committed.sendOffsets(offsets('7'));
    expect(broker.transactions().find((t) => t.transactionalId === 'tx-offsets-producer')).toMatchObject({ groups: ['tx-offsets-group'] });
    expect(broker.committedOffsets('tx-offsets-group')).toEqual([]);
    await committed.commit();
    expect(broker.committedOffsets('tx-offsets-group').map(({ topic, partition, offset }) => ({ topic, partition, offset }))).toEqual([
      { topic: 'tx-offsets-in', partition: 1, offset: 7 },
    ]);
  });

  it('fences a zombie: a second producer with the same transactional id aborts the first one’s transaction and refuses its requests', async () => {
    broker.createTopics({ name: 'tx-zombie', partitions: 1 });
    const zombie = await transactionalProducer('tx-zombie-id');
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic: 'tx-zombie', messages: [{ value: 'from-zombie' }] });
    const before = broker.transactions().find((t) => t.transactionalId === 'tx-zombie-id')!;

    // kafkajs initialises the transactional producer id on the first transaction(), which fences the zombie
    const successor = await transactionalProducer('tx-zombie-id');
    const txn = await successor.transaction();
    const after = broker.transactions().find((t) => t.transactionalId === 'tx-zombie-id')!;
    expect(after.producerId).toBe(before.producerId);
    expect(after.producerEpoch).toBe(before.producerEpoch + 1);
    expect(after.state).toBe('CompleteAbort');

    const sendError = await zombieTxn.send({ topic: 'tx-zombie', messages: [{ value: 'late' }] }).catch((e) => e);
    expect(sendError).toBeInstanceOf(Error);
    expect(JSON.stringify({ type: sendError.type, cause: sendError.cause?.type, msg: sendError.message })).toMatch(/INVALID_PRODUCER_EPOCH|producer.*epoch/i);
    const commitError = await zombieTxn.commit().catch((e) => e);
    expect(commitError).toBeInstanceOf(Error);

    await txn.send({ topic: 'tx-zombie', messages: [{ value: 'from-successor' }] });
    await txn.commit();
    expect(await consume('tx-zombie', 1)).toEqual(['from-successor']);
  });

  it('aborts a transaction left open past transaction.timeout.ms and fences its producer', async () => {
    broker.createTopics({ name: 'tx-timeout', partitions: 1 });
    const producer = await transactionalProducer('tx-timeout-id', 300);
    const txn = await producer.transaction();
    await txn.send({ topic: 'tx-timeout', messages: [{ value: 'too-slow' }] });
    expect(broker.lastStableOffset('tx-timeout')).toBe(0);

    await waitFor(() => broker.transactions().find((t) => t.transactionalId === 'tx-timeout-id')?.state === 'CompleteAbort', 10_000, 'the timeout abort');
    expect(broker.lastStableOffset('tx-timeout')).toBe(2); // record + ABORT marker
    const error = await txn.commit().catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.type ?? error.cause?.type).toBe('INVALID_PRODUCER_EPOCH');

    const plain = kafka.producer();
    open.push(plain);
    await plain.connect();
    await plain.send({ topic: 'tx-timeout', messages: [{ value: 'later' }] });
    expect(await consume('tx-timeout', 1)).toEqual(['later']);
  });

  it('fails EndTxn on request (fault injection) and leaves the transaction open for a retry', async () => {
    broker.createTopics({ name: 'tx-fault', partitions: 1 });
    const producer = await transactionalProducer('tx-fault-id');
    const txn = await producer.transaction();
    await txn.send({ topic: 'tx-fault', messages: [{ value: 'kept' }] });
    broker.injectFault({ apiKey: ApiKey.EndTxn, errorCode: ErrorCode.INVALID_TXN_STATE });

    const error = await txn.commit().catch((e) => e);
    expect(error.type ?? error.cause?.type).toBe('INVALID_TXN_STATE');
    expect(broker.transactions().find((t) => t.transactionalId === 'tx-fault-id')?.state).toBe('Ongoing');
    expect(broker.lastStableOffset('tx-fault')).toBe(0);
  });

  describe('protocol errors (raw requests)', () => {
    let raw: RawClient;
    beforeAll(async () => {
      raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    });
    afterAll(() => raw?.close());

    const initProducerId = async (transactionalId: string, timeoutMs: number) => {
      const r = await raw.request({ apiKey: ApiKey.InitProducerId, apiVersion: 1, body: (w) => w.nullableString(transactionalId).int32(timeoutMs) });
      return { throttle: r.int32(), errorCode: r.int16(), producerId: r.int64(), epoch: r.int16() };
    };

    it('InitProducerId refuses a timeout above transaction.max.timeout.ms, and bumps the epoch of a known id', async () => {
      expect((await initProducerId('raw-tx', 900_001)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      const first = await initProducerId('raw-tx', 60_000);
      const second = await initProducerId('raw-tx', 60_000);
      expect(first).toMatchObject({ errorCode: 0, epoch: 0 });
      expect(second).toMatchObject({ errorCode: 0, producerId: first.producerId, epoch: 1 });
    });

    it('refuses a transactional produce to a partition not added to the transaction, EndTxn without a transaction, a stale epoch and an unknown producer id', async () => {
      const { producerId, epoch } = await initProducerId('raw-tx-2', 60_000);
      broker.createTopics({ name: 'tx-raw', partitions: 1 });
      const batch = encodeBatch([{ value: 'sneaky' }], { producerId, producerEpoch: epoch, baseSequence: 0 });
      batch.writeInt16BE(batch.readInt16BE(21) | 0x10, 21); // the transactional attribute bit
      batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
      const produce = await raw.request({
        apiKey: ApiKey.Produce,
        apiVersion: 3,
        body: (w) => w.nullableString('raw-tx-2').int16(-1).int32(1000).array(['tx-raw'], (w, n) => w.string(n).array([0], (w, p) => w.int32(p).bytes(batch))),
      });
      const [[, [[, produceError]]]] = produce.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])]);
      expect(produceError).toBe(ErrorCode.INVALID_TXN_STATE);
      expect(broker.endOffset('tx-raw')).toBe(0);
      const end = await raw.request({
        apiKey: ApiKey.EndTxn,
        apiVersion: 1,
        body: (w) => w.string('raw-tx-2').int64(producerId).int16(epoch).bool(true),
      });
      expect([end.int32(), end.int16()]).toEqual([0, ErrorCode.INVALID_TXN_STATE]);
      const stale = await raw.request({
        apiKey: ApiKey.AddOffsetsToTxn,
        apiVersion: 1,
        body: (w) => w.string('raw-tx-2').int64(producerId).int16(epoch - 1).string('g'),
      });
      expect([stale.int32(), stale.int16()]).toEqual([0, ErrorCode.INVALID_PRODUCER_EPOCH]);
      const unknown = await raw.request({
        apiKey: ApiKey.AddPartitionsToTxn,
        apiVersion: 1,
        body: (w) => w.string('raw-tx-2').int64(producerId + 1).int16(epoch).array(['t'], (w, n) => w.string(n).array([0], (w, p) => w.int32(p))),
      });
      expect(unknown.int32()).toBe(0);
      expect(unknown.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16()])])).toEqual([['t', [[0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]]]);
    });
  });
});
