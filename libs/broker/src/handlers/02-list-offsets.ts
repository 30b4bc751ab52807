/**
 * ListOffsets (key 2), versions 0-5 (v6+ are flexible and not served).
 *
 * Timestamp -2 asks for the earliest offset (the log start), -1 for the latest (the high watermark, or
 * for isolation_level 1, read_committed, the last stable offset),
 * any other value for the first record whose timestamp is at or after it: its offset and its own
 * timestamp, as Kafka answers (-1 and -1 if none).
 * v0's old-style answer lists a single offset. A fault scoped to a topic fails only that topic's partitions.
 *
 *   ListOffsetsRequest => replica_id: INT32 isolation_level: INT8 (v2+) [topics: name: STRING
 *                         [partitions: partition_index: INT32 current_leader_epoch: INT32 (v4+) timestamp: INT64
 *                         max_num_offsets: INT32 (v0)]]
 *   ListOffsetsResponse => throttle_time_ms (v2+) [topics: name [partitions: partition_index error_code: INT16
 *                          old_style_offsets: [INT64] (v0) | timestamp: INT64 offset: INT64 (v1+) leader_epoch: INT32 (v4+)]]
 */
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

interface Request {
  /** 0 read_uncommitted, 1 read_committed (v2+). */
  isolationLevel: number;
  topics: { name: string; partitions: { index: number; timestamp: number }[] }[];
}

interface PartitionResponse {
  index: number;
  errorCode: number;
  timestamp: number;
  offset: number;
}

interface Response {
  topics: { name: string; partitions: PartitionResponse[] }[];
}

export const listOffsetsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 5,

  decode(r, v) {
    r.int32(); // replica_id
    const isolationLevel = v >= 2 ? r.int8() : 0;
    return {
      isolationLevel,
      topics: r.array((r) => ({
        name: r.string(),
        partitions: r.array((r) => {
          const index = r.int32();
          if (v >= 4) r.int32(); // current_leader_epoch
          const timestamp = r.int64();
          if (v === 0) r.int32(); // max_num_offsets
          return { index, timestamp };
        }),
      })),
    };
  },

  handle(req, { cluster, node, injectedError }) {
    return {
      topics: req.topics.map((t) => {
        const topic = cluster.topics.get(t.name);
        const injected = injectedError?.(t.name);
        return {
          name: t.name,
          partitions: t.partitions.map((p): PartitionResponse => {
            const partition = injected ?? cluster.ledPartition(topic, p.index, node.id);
            if (typeof partition === 'number') return { index: p.index, errorCode: partition, timestamp: -1, offset: -1 };
            const log = partition.log;
            if (p.timestamp === LATEST_TIMESTAMP) {
              // read_committed: the latest offset a consumer may read is the last stable offset
              const offset = req.isolationLevel === 1 ? cluster.transactions.lastStableOffset(log) : log.endOffset;
              return { index: p.index, errorCode: 0, timestamp: -1, offset };
            }
            if (p.timestamp === EARLIEST_TIMESTAMP) return { index: p.index, errorCode: 0, timestamp: -1, offset: log.logStartOffset };
            return { index: p.index, errorCode: 0, ...log.offsetForTimestamp(p.timestamp) };
          }),
        };
      }),
    };
  },

  encode(w, res, v) {
    if (v >= 2) w.int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode);
        if (v === 0) {
          w.array(p.offset < 0 ? [] : [p.offset], (w, o) => w.int64(o));
          return;
        }
        w.int64(p.timestamp).int64(p.offset);
        if (v >= 4) w.int32(-1);
      });
    });
  },

  errorResponse(req, errorCode) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ index: p.index, errorCode, timestamp: -1, offset: -1 })),
      })),
    };
  },

  topics: (req) => req.topics.map((t) => t.name),
  topicFaults: true,
};
