/**
 * Produce (key 0), versions 3-8 (RecordBatch v2 only; v9+ are flexible and not served).
 *
 * Each partition's record set is split into batches, each validated (lengths and CRC-32C: CORRUPT_MESSAGE;
 * magic 2, an empty or null record set, a header that contradicts itself, a control batch, an idempotent
 * batch without a sequence number, an unknown codec: INVALID_RECORD; zstd before v7:
 * UNSUPPORTED_COMPRESSION_TYPE; as Kafka answers) and appended as received, its baseOffset rewritten. In a
 * topic with message.timestamp.type=LogAppendTime each batch is also stamped with the append time
 * (timestamp-type bit, maxTimestamp, CRC recomputed) and the response's log_append_time is that time; it is
 * -1 for CreateTime topics, whose batches are not touched otherwise.
 *
 * acks 0 gets no response; when such a request fails (a real error or an injected one) the connection is
 * closed instead, as Kafka does, so the producer refreshes its metadata. acks 1 and -1 (all) are answered
 * once the batch is in the log: there is one replica, so they mean the same here. A fault scoped to a
 * topic fails only that topic's partitions. Idempotent batches go through sequence checks (producers.ts);
 * a duplicate is acknowledged with its first offset (and first append time). An unknown topic is
 * auto-created when the cluster allows it.
 *
 * A transactional batch is accepted only from a producer whose open transaction holds the partition
 * (AddPartitionsToTxn first; INVALID_TXN_STATE otherwise, as KIP-890 verifies) and holds back the
 * partition's last stable offset until the transaction ends (transactions.ts).
 *
 * Deliberate differences from Apache Kafka: a partition may carry several batches (Kafka takes exactly
 * one per partition from Produce v3 on).
 *
 *   ProduceRequest => transactional_id: NULLABLE_STRING acks: INT16 timeout_ms: INT32
 *                     [topic_data: name: STRING [partition_data: index: INT32 records: RECORDS]]
 *   ProduceResponse => [responses: name [partition_responses: index error_code: INT16 base_offset: INT64
 *                      log_append_time_ms: INT64 log_start_offset: INT64 (v5+)
 *                      [record_errors: batch_index INT32 batch_index_error_message NULLABLE_STRING] (v8+)
 *                      error_message: NULLABLE_STRING (v8+)]] throttle_time_ms: INT32
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Compression, InvalidBatchError, splitBatches } from '../protocol/record-batch.js';
import { DEFAULT_TOPIC_CONFIGS, topicNameProblem } from '../topics.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: { name: string; partitions: { index: number; records: Buffer | null }[] }[];
}

interface PartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  /** The broker's append time in a LogAppendTime topic, else -1. */
  logAppendTime: number;
  logStartOffset: number;
  errorMessage: string | null;
}

interface Response {
  topics: { name: string; partitions: PartitionResponse[] }[];
}

export const produceHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 8,

  decode(r) {
    return {
      transactionalId: r.nullableString(),
      acks: r.int16(),
      timeoutMs: r.int32(),
      topics: r.array((r) => ({
        name: r.string(),
        partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
      })),
    };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    const fail = (index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse => ({
      index,
      errorCode,
      baseOffset: -1,
      logAppendTime: -1,
      logStartOffset: -1,
      errorMessage,
    });
    const invalidAcks = req.acks !== 0 && req.acks !== 1 && req.acks !== -1;
    const topics = req.topics.map((t) => {
      const injected = ctx.injectedError?.(t.name);
      if (injected !== undefined) return { name: t.name, partitions: t.partitions.map((p) => fail(p.index, injected)) };
      const nameProblem = topicNameProblem(t.name);
      const topic = nameProblem ? undefined : cluster.topicOrCreate(t.name);
      const maxBytes = Number(topic?.configs['max.message.bytes'] ?? DEFAULT_TOPIC_CONFIGS['max.message.bytes']);
      const partitions = t.partitions.map((p): PartitionResponse => {
        if (invalidAcks) return fail(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${req.acks}`);
        if (nameProblem) return fail(p.index, ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
        const partition = cluster.ledPartition(topic, p.index, node.id);
        if (typeof partition === 'number') return fail(p.index, partition);
        let batches;
        try {
          batches = splitBatches(p.records ?? Buffer.alloc(0));
        } catch (err) {
          if (!(err instanceof InvalidBatchError)) throw err;
          cluster.logger.warn(`rejected produce to ${t.name}-${p.index} from ${ctx.clientId ?? ctx.connection.remote}: ${err.message}`);
          return fail(p.index, err.errorCode, err.message);
        }
        if (batches.length === 0) {
          return fail(p.index, ErrorCode.INVALID_RECORD, `Produce requests with version ${ctx.apiVersion} must have at least one record batch per partition`);
        }
        const zstd = batches.find((b) => (b.header.attributes & 0x07) === Compression.Zstd);
        if (zstd && ctx.apiVersion < 7) {
          return fail(p.index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Produce requests with version ${ctx.apiVersion} are not allowed to use ZStandard compression; zstd needs v7+`);
        }
        const tooLarge = batches.find((b) => b.header.length > maxBytes);
        if (tooLarge) {
          return fail(p.index, ErrorCode.MESSAGE_TOO_LARGE, `batch of ${tooLarge.header.length} bytes exceeds max.message.bytes ${maxBytes}`);
        }
        // One append time per partition's record set, as Kafka stamps one append.
        const appendTime = topic!.logAppendTime ? Date.now() : undefined;
        let baseOffset = -1;
        let logAppendTime = -1;
        for (const { header, bytes } of batches) {
          const seq = cluster.producers.check(t.name, p.index, header);
          if (seq.kind === 'error') return fail(p.index, seq.errorCode);
          const txnError = seq.kind === 'append' ? cluster.transactions.checkProduce(t.name, p.index, header) : ErrorCode.NONE;
          if (txnError !== ErrorCode.NONE) return fail(p.index, txnError);
          const offset = seq.kind === 'duplicate' ? seq.baseOffset : partition.log.append(bytes, header, appendTime);
          if (seq.kind === 'append') {
            cluster.producers.written(t.name, p.index, header, offset);
            cluster.transactions.appended(partition.log, header, offset);
          }
          if (baseOffset < 0) baseOffset = offset;
          // a duplicate reports the append time it got when first written
          if (appendTime !== undefined && logAppendTime < 0) logAppendTime = seq.kind === 'duplicate' ? partition.log.timestampAt(offset) : appendTime;
        }
        return { index: p.index, errorCode: 0, baseOffset, logAppendTime, logStartOffset: partition.log.logStartOffset, errorMessage: null };
      });
      return { name: t.name, partitions };
    });
    // acks 0: no response can carry an error, so the connection is closed instead, as Kafka does, and the
    // producer notices and refreshes its metadata. (The failures are listed only then.)
    if (req.acks === 0 && topics.some((t) => t.partitions.some((p) => p.errorCode !== 0))) {
      const failed = topics.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) => `${t.name}-${p.index}: error ${p.errorCode}`));
      cluster.logger.info(`closing connection ${ctx.connection.remote}: produce with acks=0 failed (${failed.join(', ')})`);
      ctx.connection.close();
    }
    return { topics };
  },

  expectsResponse: (req) => req.acks !== 0,

  encode(w, res, v) {
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(p.logAppendTime);
        if (v >= 5) w.int64(p.logStartOffset);
        if (v >= 8) {
          w.array([], () => {});
          w.nullableString(p.errorMessage);
        }
      });
    });
    w.int32(0);
  },

  errorResponse(req, errorCode) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ index: p.index, errorCode, baseOffset: -1, logAppendTime: -1, logStartOffset: -1, errorMessage: null })),
      })),
    };
  },

  topics: (req) => req.topics.map((t) => t.name),
  topicFaults: true,
};
