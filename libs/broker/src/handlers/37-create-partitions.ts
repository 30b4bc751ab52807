/**
 * CreatePartitions (key 37), versions 0-1 (flexible versions, 2+, are not served; clients step down).
 *
 * Grows a topic to `count` partitions. Answered by the controller only; any other node answers
 * NOT_CONTROLLER (41) for every topic. An unknown topic is UNKNOWN_TOPIC_OR_PARTITION (3); a count not
 * larger than the current one is INVALID_PARTITIONS (37), since partitions never shrink; a topic named
 * twice is INVALID_REQUEST (42). Adding more than 10,000 partitions in one request fails for every topic
 * with POLICY_VIOLATION (44), the bound Kafka puts on CreateTopics. With `validate_only` the checks run
 * and nothing changes. New partitions are led by the cluster's fixed rule (partition p by node p mod N),
 * or, with a manual assignment (one replica list per new partition), by their first live replica; an
 * assignment of the wrong length, with an unknown broker id, a duplicate replica or lists of different
 * lengths is INVALID_REPLICA_ASSIGNMENT (39), as Kafka answers. Versions differ only in throttling.
 *
 * Deliberate difference from Apache Kafka: the timeout is ignored, the partitions existing at once.
 *
 *   CreatePartitionsRequest  => [topics: name STRING count INT32 [assignments: [broker_ids INT32]] (nullable)]
 *                               timeout_ms INT32 validate_only BOOLEAN
 *   CreatePartitionsResponse => throttle_time_ms INT32 [results: name STRING error_code INT16 error_message NULLABLE_STRING]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { MAX_PARTITIONS_PER_REQUEST, replicaAssignmentProblem, tooManyPartitionsMessage } from '../topics.js';
import type { ApiHandler } from './handler.js';

interface TopicRequest {
  name: string;
  count: number;
  assignments: number[][] | null;
}

interface Request {
  topics: TopicRequest[];
  timeoutMs: number;
  validateOnly: boolean;
}

interface Result {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

interface Response {
  results: Result[];
}

export const createPartitionsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 1,

  decode(r) {
    const topics = r.array(
      (r): TopicRequest => ({ name: r.string(), count: r.int32(), assignments: r.nullableArray((r) => r.array((r) => r.int32())) }),
    );
    return { topics, timeoutMs: r.int32(), validateOnly: r.bool() };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    if (node.id !== cluster.controllerId) return createPartitionsHandler.errorResponse(req, ErrorCode.NOT_CONTROLLER, ctx);
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    // Partitions added by the topics that can grow (named once, existing), against Kafka's CreateTopics bound.
    let requested = 0;
    for (const t of req.topics) {
      const current = cluster.topics.get(t.name)?.partitions.length;
      if (seen.get(t.name) === 1 && current !== undefined) requested += Math.max(0, t.count - current);
    }
    if (requested > MAX_PARTITIONS_PER_REQUEST) {
      return createPartitionsHandler.errorResponse(req, ErrorCode.POLICY_VIOLATION, ctx, tooManyPartitionsMessage(requested));
    }
    const answered = new Set<string>();
    const results: Result[] = [];
    for (const t of req.topics) {
      if (answered.has(t.name)) continue;
      answered.add(t.name);
      const fail = (errorCode: number, errorMessage: string) => results.push({ name: t.name, errorCode, errorMessage });
      const topic = cluster.topics.get(t.name);
      const current = topic?.partitions.length ?? 0;
      if (seen.get(t.name)! > 1) fail(ErrorCode.INVALID_REQUEST, `topic '${t.name}' appears ${seen.get(t.name)} times in the request; name each topic once`);
      else if (!topic) fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
      else if (t.count === current) fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
      else if (t.count < current) {
        fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${t.count}; partitions can only be added.`);
      } else if (t.assignments !== null && t.assignments.length !== t.count - current) {
        fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Increasing the number of partitions by ${t.count - current} but ${t.assignments.length} assignments provided; give one replica list per new partition.`,
        );
      } else if (t.assignments !== null && replicaAssignmentProblem(t.assignments, cluster.nodes.map((n) => n.id))) {
        fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, replicaAssignmentProblem(t.assignments, cluster.nodes.map((n) => n.id))!);
      } else {
        if (!req.validateOnly) {
          topic.addPartitions(t.count, t.assignments ?? undefined);
          cluster.logger.debug(`topic ${t.name} grown from ${current} to ${t.count} partitions`);
        }
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      }
    }
    return { results };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.results, (w, r) => w.string(r.name).int16(r.errorCode).nullableString(r.errorMessage));
  },

  errorResponse(req, errorCode, _ctx, errorMessage) {
    return { results: [...new Set(req.topics.map((t) => t.name))].map((name) => ({ name, errorCode, errorMessage: errorMessage ?? null })) };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
