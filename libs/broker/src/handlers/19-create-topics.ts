/**
 * CreateTopics (key 19), versions 0-4 (flexible versions, 5+, are not served; clients step down).
 *
 * Answered by the controller only; any other node answers NOT_CONTROLLER (41) for every topic, and the
 * client refreshes metadata and retries on the controller. Each topic is checked in turn: a legal name
 * (INVALID_TOPIC_EXCEPTION 17), not already present (TOPIC_ALREADY_EXISTS 36), a partition count of at
 * least 1 or -1 for the cluster's `defaultPartitions` (INVALID_PARTITIONS 37), a replication factor of
 * 1..live nodes or -1 for the default (INVALID_REPLICATION_FACTOR 38), a manual replica assignment
 * (partitions 0..n-1, each with replicas that are known broker ids, none twice, the same number for every
 * partition; INVALID_REPLICA_ASSIGNMENT 39 otherwise, and INVALID_REQUEST 42 if num_partitions or
 * replication_factor is given too, as Kafka), and Kafka's topic config names and values (INVALID_CONFIG 40,
 * with Kafka's message, e.g. "Unknown topic config name: x"). A partition with a manual assignment is led
 * by its first live replica and Metadata reports its replicas. A request creating more
 * than 10,000 partitions in all fails for every topic with POLICY_VIOLATION (44), as a KRaft controller
 * answers, and creates nothing. Configs are stored on the
 * topic and reported by DescribeConfigs. With `validate_only` (v1+) the checks run and nothing is
 * created. A name given twice is INVALID_REQUEST (42).
 *
 * Deliberate differences from Apache Kafka: the partition count and replication factor may be -1 in every
 * version, not only v4+ (kafkajs sends -1 by default on v0-v3); without an assignment a partition is
 * replicated on every node and led by node (p mod N), whatever the replication factor; the timeout is
 * ignored, creation being immediate. Error messages (v1+) say what is wrong and what to do.
 *
 *   CreateTopicsRequest => [topics: name STRING num_partitions INT32 replication_factor INT16
 *                           [assignments: partition_index INT32 [broker_ids INT32]]
 *                           [configs: name STRING value NULLABLE_STRING]] timeout_ms INT32
 *                          validate_only BOOLEAN (v1+)
 *   CreateTopicsResponse => throttle_time_ms INT32 (v2+)
 *                           [topics: name STRING error_code INT16 error_message NULLABLE_STRING (v1+)]
 */
import { CONSUMER_OFFSETS_TOPIC } from '../consumer-offsets.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { MAX_PARTITIONS_PER_REQUEST, replicaAssignmentProblem, tooManyPartitionsMessage, topicConfigProblem, topicNameProblem } from '../topics.js';
import type { ApiHandler, RequestContext } from './handler.js';

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: { name: string; value: string | null }[];
}

interface Request {
  topics: CreatableTopic[];
  timeoutMs: number;
  validateOnly: boolean;
}

interface TopicResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

interface Response {
  topics: TopicResult[];
}

/** A manual assignment's replica lists in partition order. */
function sortedAssignment(topic: CreatableTopic): number[][] {
  return [...topic.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds);
}

/** Why `topic` cannot be created, as an error code and message, or null when it can. */
function problem(topic: CreatableTopic, { cluster }: RequestContext): Omit<TopicResult, 'name'> | null {
  const fail = (errorCode: number, errorMessage: string) => ({ errorCode, errorMessage });
  const nameProblem = topicNameProblem(topic.name);
  if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  if (topic.name === CONSUMER_OFFSETS_TOPIC) cluster.consumerOffsets.topic(); // internal: the broker's own, so it already exists
  if (cluster.topics.has(topic.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time; give num_partitions and replication_factor -1 with an assignment.',
      );
    }
    const indexes = topic.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    if (indexes.some((index, i) => index !== i)) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment names partitions [${indexes.join(', ')}]; partitions should be consecutive and start from 0.`,
      );
    }
    const assignmentProblem = replicaAssignmentProblem(sortedAssignment(topic), cluster.nodes.map((n) => n.id));
    if (assignmentProblem) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, assignmentProblem);
  }
  if (topic.numPartitions !== -1 && topic.numPartitions < 1) {
    return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be larger than 0, or -1 to use the default value (got ${topic.numPartitions}).`);
  }
  const live = cluster.liveNodes.length;
  if (topic.replicationFactor !== -1 && (topic.replicationFactor < 1 || topic.replicationFactor > live)) {
    return fail(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      topic.replicationFactor < 1
        ? `Replication factor must be larger than 0, or -1 to use the default value (got ${topic.replicationFactor}).`
        : `Replication factor: ${topic.replicationFactor} larger than available brokers: ${live}.`,
    );
  }
  const nullConfig = topic.configs.find((c) => c.value === null);
  if (nullConfig) return fail(ErrorCode.INVALID_CONFIG, `Null value not supported for topic config '${nullConfig.name}'; omit it to keep the default.`);
  const configProblem = topicConfigProblem(Object.fromEntries(topic.configs.map((c) => [c.name, c.value as string])));
  if (configProblem) return fail(ErrorCode.INVALID_CONFIG, configProblem);
  return null;
}

export const createTopicsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 4,

  decode(r, version) {
    const topics = r.array(
      (r): CreatableTopic => ({
        name: r.string(),
        numPartitions: r.int32(),
        replicationFactor: r.int16(),
        assignments: r.array((r) => ({ partitionIndex: r.int32(), brokerIds: r.array((r) => r.int32()) })),
        configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
      }),
    );
    const timeoutMs = r.int32();
    const validateOnly = version >= 1 ? r.bool() : false;
    return { topics, timeoutMs, validateOnly };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    if (node.id !== cluster.controllerId) {
      return createTopicsHandler.errorResponse(req, ErrorCode.NOT_CONTROLLER, ctx);
    }
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    // Kafka's bound on the whole request, counted as Kafka does (topics named once; a manual assignment
    // counts its partitions): past it every topic fails and nothing is created.
    let requested = 0;
    for (const t of req.topics) {
      if (counts.get(t.name) !== 1) continue;
      if (t.assignments.length > 0) requested += t.assignments.length;
      else requested += t.numPartitions === -1 ? cluster.options.defaultPartitions : Math.max(0, t.numPartitions);
    }
    if (requested > MAX_PARTITIONS_PER_REQUEST) {
      return createTopicsHandler.errorResponse(req, ErrorCode.POLICY_VIOLATION, ctx, tooManyPartitionsMessage(requested));
    }
    const answered = new Set<string>();
    const topics: TopicResult[] = [];
    for (const t of req.topics) {
      if (answered.has(t.name)) continue;
      answered.add(t.name);
      if (counts.get(t.name)! > 1) {
        topics.push({
          name: t.name,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `topic '${t.name}' appears ${counts.get(t.name)} times in the request; name each topic once`,
        });
        continue;
      }
      const failure = problem(t, ctx);
      if (failure) {
        topics.push({ name: t.name, ...failure });
        continue;
      }
      if (!req.validateOnly) {
        const assignment = t.assignments.length > 0 ? sortedAssignment(t) : undefined;
        const partitions = assignment?.length ?? (t.numPartitions === -1 ? cluster.options.defaultPartitions : t.numPartitions);
        cluster.createTopic(t.name, partitions, Object.fromEntries(t.configs.map((c) => [c.name, c.value as string])), assignment);
      }
      topics.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { topics };
  },

  encode(w, res, version) {
    if (version >= 2) w.int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name).int16(t.errorCode);
      if (version >= 1) w.nullableString(t.errorMessage);
    });
  },

  errorResponse(req, errorCode, _ctx, errorMessage) {
    const names = [...new Set(req.topics.map((t) => t.name))];
    return { topics: names.map((name) => ({ name, errorCode, errorMessage: errorMessage ?? null })) };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
