/**
 * DeleteTopics (key 20), versions 0-3 (flexible versions, 4+, are not served; clients step down).
 *
 * Answered by the controller only; any other node answers NOT_CONTROLLER (41) for every topic. A topic
 * that does not exist is UNKNOWN_TOPIC_OR_PARTITION (3); an existing one is removed at once with its data
 * and its committed offsets. Versions differ only by the throttle time (v1+).
 *
 * Deliberate differences from Apache Kafka: deletion is immediate, so the timeout is ignored and a topic
 * of the same name can be created again right away (Kafka deletes asynchronously).
 *
 *   DeleteTopicsRequest  => [topic_names STRING] timeout_ms INT32
 *   DeleteTopicsResponse => throttle_time_ms INT32 (v1+) [responses: name STRING error_code INT16]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  topicNames: string[];
  timeoutMs: number;
}

interface Response {
  responses: { name: string; errorCode: number }[];
}

export const deleteTopicsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 3,

  decode(r) {
    return { topicNames: r.array((r) => r.string()), timeoutMs: r.int32() };
  },

  handle(req, ctx) {
    const { cluster, node } = ctx;
    if (node.id !== cluster.controllerId) return deleteTopicsHandler.errorResponse(req, ErrorCode.NOT_CONTROLLER, ctx);
    const names = [...new Set(req.topicNames)];
    return {
      responses: names.map((name) => ({
        name,
        errorCode: cluster.deleteTopic(name) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      })),
    };
  },

  encode(w, res, version) {
    if (version >= 1) w.int32(0);
    w.array(res.responses, (w, t) => w.string(t.name).int16(t.errorCode));
  },

  errorResponse(req, errorCode) {
    return { responses: [...new Set(req.topicNames)].map((name) => ({ name, errorCode })) };
  },

  topics: (req) => req.topicNames,
};
