/**
 * Fetch (key 1), versions 4-11 (RecordBatch v2 only; v12+ are flexible and not served).
 *
 * Serves stored batches as they are, by reference: no copy, no re-encoding. A fetch that starts inside a
 * batch gets the whole batch (the client skips earlier records), and at least one batch is returned even
 * when it is larger than the size limits, as Kafka does (KIP-74), so a large record never stalls a
 * consumer. Long poll: when fewer than `min_bytes` are available the request waits, up to `max_wait_ms`,
 * for an append to any requested partition. Fetch sessions (KIP-227) are not kept: every fetch is a full
 * one and the response carries session id 0, which clients handle by sending full fetches; a request for
 * an existing session id gets FETCH_SESSION_ID_NOT_FOUND. Every response carries the partition's last stable
 * offset (before the oldest open transaction, transactions.ts). With isolation_level 1 (read_committed)
 * no batch at or past it is returned, and the aborted transactions overlapping the returned range are
 * listed so the client drops their records (it also skips the control records); read_uncommitted gets
 * everything up to the high watermark and no list. A fault scoped to a topic fails only that topic's
 * partitions (and, like any partition error, ends the long poll at once).
 *
 *   FetchRequest => replica_id: INT32 max_wait_ms: INT32 min_bytes: INT32 max_bytes: INT32 isolation_level: INT8
 *                   session_id: INT32 (v7+) session_epoch: INT32 (v7+)
 *                   [topics: topic: STRING [partitions: partition: INT32 current_leader_epoch: INT32 (v9+)
 *                   fetch_offset: INT64 log_start_offset: INT64 (v5+) partition_max_bytes: INT32]]
 *                   [forgotten_topics_data: topic [partitions: INT32]] (v7+) rack_id: STRING (v11+)
 *   FetchResponse => throttle_time_ms: INT32 error_code: INT16 (v7+) session_id: INT32 (v7+)
 *                    [responses: topic [partitions: partition_index error_code high_watermark: INT64
 *                    last_stable_offset: INT64 log_start_offset: INT64 (v5+)
 *                    [aborted_transactions: producer_id INT64 first_offset INT64] preferred_read_replica: INT32 (v11+)
 *                    records: RECORDS]]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Cluster } from '../cluster.js';
import type { AbortedTransaction } from '../transactions.js';
import type { ApiHandler, RequestContext } from './handler.js';

interface PartitionRequest {
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

interface Request {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  /** 0 read_uncommitted, 1 read_committed. */
  isolationLevel: number;
  sessionId: number;
  topics: { topic: string; partitions: PartitionRequest[] }[];
}

interface PartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** read_committed only; null otherwise. */
  abortedTransactions: AbortedTransaction[] | null;
  records: Buffer[];
}

interface Response {
  errorCode: number;
  topics: { topic: string; partitions: PartitionResponse[] }[];
}

/** A partition's entry when it fails. */
const FAILED: Omit<PartitionResponse, 'partition' | 'errorCode'> = { highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, records: [] };

/** Upper bound on a request's wait, whatever the client asks. */
const MAX_WAIT_CAP_MS = 30_000;

export const fetchHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 11,

  decode(r, v) {
    r.int32(); // replica_id
    const maxWaitMs = r.int32();
    const minBytes = r.int32();
    const maxBytes = r.int32();
    const isolationLevel = r.int8();
    let sessionId = 0;
    if (v >= 7) {
      sessionId = r.int32();
      r.int32(); // session_epoch
    }
    const topics = r.array((r) => ({
      topic: r.string(),
      partitions: r.array((r) => {
        const partition = r.int32();
        if (v >= 9) r.int32(); // current_leader_epoch
        const fetchOffset = r.int64();
        if (v >= 5) r.int64(); // log_start_offset (followers only)
        return { partition, fetchOffset, maxBytes: r.int32() };
      }),
    }));
    if (v >= 7) r.array((r) => [r.string(), r.array((r) => r.int32())]);
    if (v >= 11) r.string();
    return { maxWaitMs, minBytes, maxBytes, isolationLevel, sessionId, topics };
  },

  async handle(req, ctx) {
    if (req.sessionId > 0) return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, topics: [] };
    const deadline = Date.now() + Math.min(Math.max(req.maxWaitMs, 0), MAX_WAIT_CAP_MS);
    let res = read(req, ctx);
    while (res.bytes < req.minBytes && !res.error && !ctx.connection.isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await waitForData(ctx.cluster, req, left, ctx);
      res = read(req, ctx);
    }
    return res.response;
  },

  encode(w, res, v) {
    w.int32(0);
    if (v >= 7) w.int16(res.errorCode).int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.topic);
      w.array(t.partitions, (w, p) => {
        w.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.lastStableOffset);
        if (v >= 5) w.int64(p.logStartOffset);
        w.array(p.abortedTransactions ?? [], (w, a) => w.int64(a.producerId).int64(a.firstOffset));
        if (v >= 11) w.int32(-1);
        let size = 0;
        for (const b of p.records) size += b.length;
        w.int32(size);
        for (const b of p.records) w.raw(b);
      });
    });
  },

  errorResponse(req, errorCode) {
    return {
      errorCode: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({ ...FAILED, partition: p.partition, errorCode })),
      })),
    };
  },

  topics: (req) => req.topics.map((t) => t.topic),
  topicFaults: true,
};

/** Reads what is available now, within the request's size limits. */
function read(req: Request, { cluster, node, injectedError }: RequestContext): { response: Response; bytes: number; error: boolean } {
  let remaining = req.maxBytes > 0 ? req.maxBytes : Number.MAX_SAFE_INTEGER;
  let bytes = 0;
  let error = false;
  const topics = req.topics.map((t) => {
    const topic = cluster.topics.get(t.topic);
    const injected = injectedError?.(t.topic);
    const partitions = t.partitions.map((p): PartitionResponse => {
      const partition = injected ?? cluster.ledPartition(topic, p.partition, node.id);
      if (typeof partition === 'number') {
        error = true;
        return { ...FAILED, partition: p.partition, errorCode: partition };
      }
      const log = partition.log;
      const lastStableOffset = cluster.transactions.lastStableOffset(log);
      const readCommitted = req.isolationLevel === 1;
      const base: Omit<PartitionResponse, 'errorCode' | 'records'> = {
        partition: p.partition,
        highWatermark: log.endOffset,
        lastStableOffset,
        logStartOffset: log.logStartOffset,
        abortedTransactions: readCommitted ? [] : null,
      };
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.endOffset) {
        error = true;
        return { ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: [] };
      }
      // KIP-74: the first batch of the response is returned whole even beyond the limits.
      const limit = Math.min(p.maxBytes, remaining);
      if (limit <= 0 && bytes > 0) return { ...base, errorCode: 0, records: [] };
      let { chunks, bytes: n } = log.read(p.fetchOffset, Math.max(limit, 1));
      if (readCommitted) {
        // Nothing at or past the last stable offset: those batches belong to transactions still open.
        const stable = chunks.filter((c) => Number(c.readBigInt64BE(0)) < lastStableOffset);
        if (stable.length < chunks.length) {
          chunks = stable;
          n = stable.reduce((sum, c) => sum + c.length, 0);
        }
      }
      if (bytes > 0 && n > limit) return { ...base, errorCode: 0, records: [] };
      bytes += n;
      remaining -= n;
      if (readCommitted && chunks.length > 0) {
        const last = chunks[chunks.length - 1];
        const lastOffset = Number(last.readBigInt64BE(0)) + last.readInt32BE(23);
        base.abortedTransactions = cluster.transactions.abortedTransactions(log, p.fetchOffset, lastOffset);
      }
      return { ...base, errorCode: 0, records: chunks };
    });
    return { topic: t.topic, partitions };
  });
  return { response: { errorCode: 0, topics }, bytes, error };
}

/** Resolves after an append to any requested partition, the timeout, or the connection closing. */
function waitForData(cluster: Cluster, req: Request, timeoutMs: number, ctx: RequestContext): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      for (const u of unsubscribe) u();
      ctx.connection.socket.off('close', done);
      resolve();
    };
    for (const t of req.topics) {
      const topic = cluster.topics.get(t.topic);
      for (const p of t.partitions) {
        const log = topic?.partition(p.partition)?.log;
        if (log) unsubscribe.push(log.onAppend(done));
      }
    }
    timer = setTimeout(done, timeoutMs);
    ctx.connection.socket.once('close', done);
  });
}
