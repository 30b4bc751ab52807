/**
 * ListPartitionReassignments (key 46), version 0 (flexible).
 *
 * Lists the reassignments in progress. A reassignment (AlterPartitionReassignments, 45) completes when it
 * is made, the cluster's data being shared by every node, so the list is always empty; a client polling
 * for its reassignment to finish sees it finished. Answered by the controller only (NOT_CONTROLLER 41
 * otherwise), as in Kafka.
 *
 *   ListPartitionReassignmentsRequest  => timeout_ms INT32 [topics: name STRING [partition_indexes INT32]] (nullable)
 *   ListPartitionReassignmentsResponse => throttle_time_ms INT32 error_code INT16 error_message NULLABLE_STRING
 *                                         [topics: name STRING [partitions: partition_index INT32 [replicas INT32]
 *                                         [adding_replicas INT32] [removing_replicas INT32]]]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  timeoutMs: number;
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

interface Response {
  errorCode: number;
  errorMessage: string | null;
}

export const listPartitionReassignmentsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.ListPartitionReassignments,
  name: 'ListPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  flexibleVersion: 0,

  decode(r) {
    const timeoutMs = r.int32();
    const topics = r.nullableArray((r) => {
      const t = { name: r.string(), partitionIndexes: r.array((r) => r.int32()) };
      r.tags();
      return t;
    });
    r.tags();
    return { timeoutMs, topics };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    if (node.id !== cluster.controllerId) {
      return listPartitionReassignmentsHandler.errorResponse(req, ErrorCode.NOT_CONTROLLER, ctx, `node ${node.id} is not the controller; send the request to node ${cluster.controllerId}`);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode).nullableString(res.errorMessage);
    w.array([], () => {}); // no reassignment is ever in progress
    w.tags();
  },

  errorResponse(_req, errorCode, _ctx, errorMessage) {
    return { errorCode, errorMessage: errorMessage ?? null };
  },
};
