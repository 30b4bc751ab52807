/**
 * Metadata (key 3), versions 0-8 (flexible versions, 9+, are not served; clients step down).
 *
 * Lists the live nodes, the controller, and the requested topics (all of them for a null list, or an
 * empty one in v0) with each partition's leader. An unknown topic is created when the cluster allows
 * auto-creation and the request does (v4+ `allow_auto_topic_creation`); `__consumer_offsets` is created as
 * the internal topic whenever it is named, and flagged `is_internal`. Deliberate difference: Kafka
 * answers the first request for a new topic with LEADER_NOT_AVAILABLE while it elects leaders; here the
 * topic is ready at once, so clients need no retry. Leader epochs are reported as -1 (unknown), which
 * keeps librdkafka from validating offsets with OffsetForLeaderEpoch. An injected error is set on each
 * requested topic (each existing one for a null list; only the named one for a fault scoped to a topic),
 * and the brokers, controller and cluster id are reported as usual. Replicas are a partition's assigned
 * replicas (manual assignment, reassignment) or every live node; the ISR is the live ones among them.
 * With an authorizer, a named topic the principal may not describe gets TOPIC_AUTHORIZATION_FAILED (set
 * before the handler runs, see acls.ts), a null list means the topics it may describe, and an unknown
 * topic is auto-created only with CREATE on the cluster or the topic.
 *
 *   MetadataRequest => [topics: name STRING] (nullable v1+) allow_auto_topic_creation: BOOL (v4+)
 *                      include_cluster_authorized_operations: BOOL include_topic_authorized_operations: BOOL (v8+)
 *   MetadataResponse => throttle_time_ms (v3+) [brokers: node_id host port rack (v1+)] cluster_id (v2+)
 *                       controller_id (v1+) [topics: error_code name is_internal (v1+)
 *                       [partitions: error_code partition_index leader_id leader_epoch (v7+) [replica_nodes]
 *                       [isr_nodes] [offline_replicas] (v5+)] topic_authorized_operations (v8+)]
 *                       cluster_authorized_operations (v8+)
 */
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from '../acls.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { topicNameProblem } from '../topics.js';
import type { ApiHandler } from './handler.js';

interface Request {
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

interface PartitionMetadata {
  errorCode: number;
  index: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

interface TopicMetadata {
  errorCode: number;
  name: string;
  internal: boolean;
  partitions: PartitionMetadata[];
}

interface Response {
  brokers: { nodeId: number; host: string; port: number }[];
  clusterId: string;
  controllerId: number;
  topics: TopicMetadata[];
}

export const metadataHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 8,

  decode(r, version) {
    let topics = r.nullableArray((r) => r.string());
    if (version === 0 && topics?.length === 0) topics = null;
    const allowAutoTopicCreation = version >= 4 ? r.bool() : true;
    if (version >= 8) {
      r.bool();
      r.bool();
    }
    return { topics, allowAutoTopicCreation };
  },

  handle(req, ctx) {
    const { cluster, injectedError } = ctx;
    const nodes = cluster.liveNodes;
    const authorizer = cluster.authorizer;
    // With an authorizer, all topics means those the principal may describe, and auto-creation needs CREATE.
    const names = req.topics ?? [...cluster.topics.keys()].filter((name) => authorizer?.permits(ctx, ResourceType.TOPIC, name, AclOperation.DESCRIBE) ?? true);
    const mayCreate = (name: string) =>
      !authorizer ||
      authorizer.permits(ctx, ResourceType.CLUSTER, CLUSTER_RESOURCE, AclOperation.CREATE) ||
      authorizer.permits(ctx, ResourceType.TOPIC, name, AclOperation.CREATE);
    const topics = names.map((name): TopicMetadata => {
      const injected = injectedError?.(name);
      if (injected !== undefined) return { errorCode: injected, name, internal: false, partitions: [] };
      if (topicNameProblem(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, internal: false, partitions: [] };
      const topic = cluster.topicOrCreate(name, req.allowAutoTopicCreation && mayCreate(name));
      if (!topic) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, internal: false, partitions: [] };
      return {
        errorCode: 0,
        name,
        internal: topic.internal,
        partitions: topic.partitions.map((p) => {
          const leader = cluster.leaderOf(p.index, p.replicas);
          const replicas = [...cluster.replicasOf(p)];
          return {
            errorCode: leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
            index: p.index,
            leader,
            replicas,
            isr: replicas.filter((id) => cluster.nodes[id]?.alive),
          };
        }),
      };
    });
    return {
      brokers: nodes.map((n) => ({ nodeId: n.id, host: n.host, port: n.ports[ctx.connection.listener] })), // the client's listener
      clusterId: cluster.options.clusterId,
      controllerId: cluster.controllerId,
      topics,
    };
  },

  encode(w, res, v) {
    if (v >= 3) w.int32(0);
    w.array(res.brokers, (w, b) => {
      w.int32(b.nodeId).string(b.host).int32(b.port);
      if (v >= 1) w.nullableString(null);
    });
    if (v >= 2) w.nullableString(res.clusterId);
    if (v >= 1) w.int32(res.controllerId);
    w.array(res.topics, (w, t) => {
      w.int16(t.errorCode).string(t.name);
      if (v >= 1) w.bool(t.internal);
      w.array(t.partitions, (w, p) => {
        w.int16(p.errorCode).int32(p.index).int32(p.leader);
        if (v >= 7) w.int32(-1);
        w.array(p.replicas, (w, n) => w.int32(n));
        w.array(p.isr, (w, n) => w.int32(n));
        if (v >= 5) w.array([], () => {});
      });
      if (v >= 8) w.int32(-2147483648);
    });
    if (v >= 8) w.int32(-2147483648);
  },

  // The normal response (brokers, controller, cluster id) with every requested topic failing, every
  // existing topic for a null list; nothing is auto-created.
  errorResponse(req, errorCode, ctx) {
    return metadataHandler.handle(req, { ...ctx, injectedError: () => errorCode }) as Response;
  },

  topics: (req) => req.topics ?? [],
  topicFaults: true,
};
