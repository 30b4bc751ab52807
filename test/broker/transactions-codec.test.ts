/**
 * The transaction APIs' wire formats, checked against kafkajs's own encoders and decoders: the bytes kafkajs
 * sends decode to the request our handler expects, and our responses decode in kafkajs to what we meant.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import type { ApiHandler } from '../../libs/broker/src/handlers/handler.js';
import { addPartitionsToTxnHandler } from '../../libs/broker/src/handlers/24-add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from '../../libs/broker/src/handlers/25-add-offsets-to-txn.js';
import { endTxnHandler } from '../../libs/broker/src/handlers/26-end-txn.js';
import { txnOffsetCommitHandler } from '../../libs/broker/src/handlers/28-txn-offset-commit.js';
import { initProducerIdHandler } from '../../libs/broker/src/handlers/22-init-producer-id.js';
import { controlBatch } from '../../libs/broker/src/transactions.js';
import { splitBatches } from '../../libs/broker/src/protocol/record-batch.js';

const require = createRequire(import.meta.url);
const kafkajsRequestFrame = require('kafkajs/src/protocol/request.js');

async function decodeKafkaJsRequest<Req>(handler: ApiHandler<Req>, api: string, version: number, args: object): Promise<Req> {
  const request = require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`)(args);
  const frame: Buffer = (await kafkajsRequestFrame({ correlationId: 7, clientId: 'kafkajs-capture', request })).buffer;
  const r = new Reader(frame);
  expect(r.int32()).toBe(frame.length - 4);
  expect([r.int16(), r.int16(), r.int32(), r.nullableString()]).toEqual([handler.apiKey, version, 7, 'kafkajs-capture']);
  const decoded = handler.decode(r, version);
  expect(r.remaining).toBe(0);
  return decoded;
}

async function kafkajsDecodes<Res>(handler: ApiHandler<unknown, Res>, api: string, version: number, res: Res) {
  const w = new Writer();
  handler.encode(w, res, version);
  return require(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`).decode(w.toBuffer());
}

const txn = { transactionalId: 'tx-a', producerId: 1234567890123, producerEpoch: 3 };

describe('transaction API codecs against kafkajs', () => {
  it.each([0, 1])('InitProducerId v%i with a transactional id', async (version) => {
    expect(await decodeKafkaJsRequest(initProducerIdHandler, 'initProducerId', version, { transactionalId: 'tx-a', transactionTimeout: 5000 })).toEqual({
      transactionalId: 'tx-a',
      transactionTimeoutMs: 5000,
    });
  });

  it.each([0, 1])('AddPartitionsToTxn v%i', async (version) => {
    const req = await decodeKafkaJsRequest(addPartitionsToTxnHandler, 'addPartitionsToTxn', version, {
      ...txn,
      topics: [{ topic: 'out', partitions: [0, 2] }],
    });
    expect(req).toEqual({ ...txn, topics: [{ name: 'out', partitions: [0, 2] }] });
    const res = await kafkajsDecodes(addPartitionsToTxnHandler, 'addPartitionsToTxn', version, {
      topics: [{ name: 'out', partitions: [{ index: 0, errorCode: 0 }, { index: 2, errorCode: 48 }] }],
    });
    expect(res.errors).toEqual([{ topic: 'out', partitionErrors: [{ errorCode: 0, partition: 0 }, { errorCode: 48, partition: 2 }] }]);
  });

  it.each([0, 1])('AddOffsetsToTxn v%i', async (version) => {
    expect(await decodeKafkaJsRequest(addOffsetsToTxnHandler, 'addOffsetsToTxn', version, { ...txn, groupId: 'g' })).toEqual({ ...txn, groupId: 'g' });
    expect((await kafkajsDecodes(addOffsetsToTxnHandler, 'addOffsetsToTxn', version, { errorCode: 47 })).errorCode).toBe(47);
  });

  it.each([0, 1])('EndTxn v%i', async (version) => {
    expect(await decodeKafkaJsRequest(endTxnHandler, 'endTxn', version, { ...txn, transactionResult: true })).toEqual({ ...txn, committed: true });
    expect(await decodeKafkaJsRequest(endTxnHandler, 'endTxn', version, { ...txn, transactionResult: false })).toEqual({ ...txn, committed: false });
    expect((await kafkajsDecodes(endTxnHandler, 'endTxn', version, { errorCode: 0 })).errorCode).toBe(0);
  });

  it.each([0, 1])('TxnOffsetCommit v%i', async (version) => {
    const req = await decodeKafkaJsRequest(txnOffsetCommitHandler, 'txnOffsetCommit', version, {
      ...txn,
      groupId: 'g',
      topics: [{ topic: 'in', partitions: [{ partition: 1, offset: '42', metadata: null }] }],
    });
    expect(req).toEqual({ ...txn, groupId: 'g', topics: [{ name: 'in', partitions: [{ index: 1, offset: 42, leaderEpoch: -1, metadata: null }] }] });
    const res = await kafkajsDecodes(txnOffsetCommitHandler, 'txnOffsetCommit', version, { topics: [{ name: 'in', partitions: [{ index: 1, errorCode: 0 }] }] });
    expect(res.topics).toEqual([{ topic: 'in', partitions: [{ errorCode: 0, partition: 1 }] }]);
  });

  it.each([true, false])('a control batch (commit %s) is a valid batch that kafkajs reads as a control record', async (commit) => {
    const { bytes, header } = controlBatch(1000, 2, commit, 1_700_000_000_000);
    // splitBatches checks framing and CRC (and refuses control batches from clients, which this is)
    expect(() => splitBatches(bytes)).toThrow(/control records/);
    expect(header).toMatchObject({ length: bytes.length, producerId: 1000, producerEpoch: 2, attributes: 0x30, recordCount: 1 });
    const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');
    const Decoder = require('kafkajs/src/protocol/decoder.js');
    const batch = await RecordBatchDecoder(new Decoder(bytes));
    expect(batch).toMatchObject({ inTransaction: true, isControlBatch: true, producerId: '1000', producerEpoch: 2 });
    expect(batch.records[0].key).toEqual(Buffer.from([0, 0, 0, commit ? 1 : 0]));
  });
});
