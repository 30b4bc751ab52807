/**
 * DeleteRecords (key 21), versions 0-1 (flexible version 2 is not served; clients step down).
 *
 * Moves a partition's log start offset forward, making the records before it unreadable
 * (`PartitionLog.deleteBefore`), and answers the new low watermark. Offset -1 means the high watermark
 * (delete everything written so far). Each partition is answered by its leader only; another node answers
 * NOT_LEADER_OR_FOLLOWER (6), so the client refreshes metadata and retries on the leader. An unknown
 * topic or partition is UNKNOWN_TOPIC_OR_PARTITION (3); an offset beyond the high watermark, or below -1,
 * is OFFSET_OUT_OF_RANGE (1). An offset at or below the current log start changes nothing.
 * Versions differ only in throttling behaviour.
 *
 * Deliberate differences from Apache Kafka: the timeout is ignored (there are no followers to wait for),
 * and whole batches are dropped from memory only once every record in them is below the log start.
 *
 *   DeleteRecordsRequest  => [topics: name STRING [partitions: partition_index INT32 offset INT64]] timeout_ms INT32
 *   DeleteRecordsResponse => throttle_time_ms INT32
 *                            [topics: name STRING [partitions: partition_index INT32 low_watermark INT64 error_code INT16]]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  topics: { name: string; partitions: { partitionIndex: number; offset: number }[] }[];
  timeoutMs: number;
}

interface PartitionResult {
  partitionIndex: number;
  lowWatermark: number;
  errorCode: number;
}

interface Response {
  topics: { name: string; partitions: PartitionResult[] }[];
}

/** Offset meaning "the high watermark". */
const HIGH_WATERMARK = -1;

export const deleteRecordsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 1,

  decode(r) {
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ partitionIndex: r.int32(), offset: r.int64() })),
    }));
    return { topics, timeoutMs: r.int32() };
  },

  handle(req, { cluster, node }) {
    return {
      topics: req.topics.map((t) => {
        const topic = cluster.topics.get(t.name);
        return {
          name: t.name,
          partitions: t.partitions.map(({ partitionIndex, offset }): PartitionResult => {
            const fail = (errorCode: number) => ({ partitionIndex, lowWatermark: -1, errorCode });
            const partition = cluster.ledPartition(topic, partitionIndex, node.id);
            if (typeof partition === 'number') return fail(partition);
            const log = partition.log;
            const target = offset === HIGH_WATERMARK ? log.endOffset : offset;
            if (target < 0 || target > log.endOffset) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
            return { partitionIndex, lowWatermark: log.deleteBefore(target), errorCode: ErrorCode.NONE };
          }),
        };
      }),
    };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.partitionIndex).int64(p.lowWatermark).int16(p.errorCode));
    });
  },

  errorResponse(req, errorCode) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode })),
      })),
    };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
