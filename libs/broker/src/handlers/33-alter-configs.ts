/**
 * AlterConfigs (key 33), versions 0-1 (flexible version 2 is not served; clients step down).
 *
 * Replaces the whole set of a topic's configs with the ones given, as Kafka does (a config left out goes
 * back to its default); IncrementalAlterConfigs (44) changes single configs. Each resource is checked
 * on its own: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION (3); an unknown config name or a bad value
 * is INVALID_CONFIG (40) with Kafka's message ("Unknown topic config name: x", "Invalid value x for
 * configuration retention.ms: Not a number of type LONG"); a null value or a name given twice is
 * INVALID_REQUEST (42), and so is a resource named twice. With `validate_only` the checks run and nothing
 * changes. The change is seen at once by DescribeConfigs and by the produce path for the configs the
 * broker honours (`message.timestamp.type`, `max.message.bytes`). Any node answers.
 *
 * Deliberate difference from Apache Kafka: broker resources get INVALID_REQUEST (the broker's configs are
 * its start options, none is dynamic).
 *
 *   AlterConfigsRequest  => [resources: resource_type INT8 resource_name STRING
 *                            [configs: name STRING value NULLABLE_STRING]] validate_only BOOLEAN
 *   AlterConfigsResponse => throttle_time_ms INT32 [responses: error_code INT16 error_message NULLABLE_STRING
 *                            resource_type INT8 resource_name STRING]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { alterResourceConfigs, type AlterOutcome } from '../topic-configs.js';
import type { ApiHandler } from './handler.js';

interface Resource {
  resourceType: number;
  resourceName: string;
  configs: { name: string; value: string | null }[];
}

interface Request {
  resources: Resource[];
  validateOnly: boolean;
}

export interface AlterConfigsResult extends AlterOutcome {
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface AlterConfigsResponse {
  responses: AlterConfigsResult[];
}

/** Answers INVALID_REQUEST for each resource named more than once in a request; the others get `alter`. */
export function alterEach<R extends { resourceType: number; resourceName: string }>(resources: R[], alter: (r: R) => AlterOutcome): AlterConfigsResult[] {
  const key = (r: R) => `${r.resourceType}:${r.resourceName}`;
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  return resources.map((r) => {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    if (counts.get(key(r))! > 1) {
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Error due to duplicate resource '${r.resourceName}' in the request; name each resource once` };
    }
    return { ...base, ...alter(r) };
  });
}

/** Encodes the response shared by AlterConfigs and IncrementalAlterConfigs. */
export function encodeAlterConfigsResponse(w: import('../protocol/writer.js').Writer, res: AlterConfigsResponse): void {
  w.int32(0);
  w.array(res.responses, (w, r) => {
    w.int16(r.errorCode).nullableString(r.errorMessage).int8(r.resourceType).string(r.resourceName);
    w.tags();
  });
  w.tags();
}

export const alterConfigsHandler: ApiHandler<Request, AlterConfigsResponse> = {
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 1,

  decode(r) {
    const resources = r.array(
      (r): Resource => ({
        resourceType: r.int8(),
        resourceName: r.string(),
        configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
      }),
    );
    return { resources, validateOnly: r.bool() };
  },

  handle(req, { cluster }) {
    const responses = alterEach(req.resources, (res) =>
      alterResourceConfigs(cluster.topics, res.resourceType, res.resourceName, req.validateOnly, () => {
        const configs: Record<string, string> = {};
        for (const c of res.configs) {
          if (c.value === null) return { error: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for topic configs: ${c.name}` } };
          if (c.name in configs) return { error: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Error due to duplicate config keys: ${c.name}` } };
          configs[c.name] = c.value;
        }
        return { configs };
      }),
    );
    return { responses };
  },

  encode(w, res) {
    encodeAlterConfigsResponse(w, res);
  },

  errorResponse(req, errorCode, _ctx, errorMessage) {
    return {
      responses: req.resources.map((r) => ({ errorCode, errorMessage: errorMessage ?? null, resourceType: r.resourceType, resourceName: r.resourceName })),
    };
  },

  topics: (req) => req.resources.filter((r) => r.resourceType === 2).map((r) => r.resourceName),
};
