/**
 * AlterPartitionReassignments (key 45), version 0 (flexible).
 *
 * Moves partitions to the replicas given, the first being the preferred leader. The cluster's data is
 * shared by every node, so a reassignment completes at once: Metadata reports the new replicas and leader
 * in the next response, and ListPartitionReassignments (46) has nothing in progress. Answered by the
 * controller only (NOT_CONTROLLER 41 for the whole request otherwise). Per partition: an unknown topic or
 * partition is UNKNOWN_TOPIC_OR_PARTITION (3); replicas that are empty, name an unknown broker or a broker
 * twice are INVALID_REPLICA_ASSIGNMENT (39); a null replica list cancels a reassignment, and since none is
 * ever in progress it answers NO_REASSIGNMENT_IN_PROGRESS (85), as Kafka does for an idle partition.
 *
 * Deliberate difference from Apache Kafka: no data is copied and the timeout is ignored; the move is
 * immediate.
 *
 *   AlterPartitionReassignmentsRequest  => timeout_ms INT32 [topics: name STRING [partitions: partition_index INT32
 *                                          replicas [INT32] (nullable)]]
 *   AlterPartitionReassignmentsResponse => throttle_time_ms INT32 error_code INT16 error_message NULLABLE_STRING
 *                                          [responses: name STRING [partitions: partition_index INT32 error_code INT16
 *                                          error_message NULLABLE_STRING]]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { replicaAssignmentProblem } from '../topics.js';
import type { ApiHandler } from './handler.js';

interface Request {
  timeoutMs: number;
  topics: { name: string; partitions: { index: number; replicas: number[] | null }[] }[];
}

interface PartitionResult {
  index: number;
  errorCode: number;
  errorMessage: string | null;
}

interface Response {
  errorCode: number;
  errorMessage: string | null;
  responses: { name: string; partitions: PartitionResult[] }[];
}

export const alterPartitionReassignmentsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.AlterPartitionReassignments,
  name: 'AlterPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  flexibleVersion: 0,

  decode(r) {
    const timeoutMs = r.int32();
    const topics = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const p = { index: r.int32(), replicas: r.nullableArray((r) => r.int32()) };
        r.tags();
        return p;
      });
      r.tags();
      return { name, partitions };
    });
    r.tags();
    return { timeoutMs, topics };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    if (node.id !== cluster.controllerId) {
      return alterPartitionReassignmentsHandler.errorResponse(req, ErrorCode.NOT_CONTROLLER, ctx, `node ${node.id} is not the controller; send the request to node ${cluster.controllerId}`);
    }
    const brokerIds = cluster.nodes.map((n) => n.id);
    const responses = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ index, replicas }): PartitionResult => {
        const fail = (errorCode: number, errorMessage: string) => ({ index, errorCode, errorMessage });
        const partition = cluster.topics.get(t.name)?.partition(index);
        if (!partition) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${t.name}-${index}.`);
        if (replicas === null) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `No ongoing reassignment for partition ${t.name}-${index}; it completed when it was made.`);
        const problem = replicaAssignmentProblem([replicas], brokerIds);
        if (problem) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
        partition.replicas = [...replicas];
        cluster.logger.info(`partition ${t.name}-${index} reassigned to replicas [${replicas.join(', ')}]`);
        return { index, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    }));
    return { errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode).nullableString(res.errorMessage);
    w.array(res.responses, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).int16(p.errorCode).nullableString(p.errorMessage).tags());
      w.tags();
    });
    w.tags();
  },

  errorResponse(_req, errorCode, _ctx, errorMessage) {
    return { errorCode, errorMessage: errorMessage ?? null, responses: [] };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
