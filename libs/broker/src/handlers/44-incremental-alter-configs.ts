/**
 * IncrementalAlterConfigs (key 44), versions 0-1 (v1 is flexible).
 *
 * Changes single configs of a topic, leaving the others as they are: SET (0) a value, DELETE (1) an
 * override (back to the default), APPEND (2) to or SUBTRACT (3) from a list config (`cleanup.policy`,
 * the throttled-replica lists). The changed set is checked as AlterConfigs (33) checks it: an unknown
 * topic is UNKNOWN_TOPIC_OR_PARTITION (3), an unknown name or bad value INVALID_CONFIG (40) with Kafka's
 * message, APPEND/SUBTRACT on a config that is not a list INVALID_CONFIG, a null value for SET, an unknown
 * operation, a config named twice or a resource named twice INVALID_REQUEST (42). With `validate_only`
 * nothing changes. Any node answers.
 *
 * Deliberate difference from Apache Kafka: broker resources get INVALID_REQUEST (no broker config is
 * dynamic here).
 *
 *   IncrementalAlterConfigsRequest  => [resources: resource_type INT8 resource_name STRING
 *                                      [configs: name STRING config_operation INT8 value NULLABLE_STRING]]
 *                                      validate_only BOOLEAN
 *   IncrementalAlterConfigsResponse => throttle_time_ms INT32 [responses: error_code INT16
 *                                      error_message NULLABLE_STRING resource_type INT8 resource_name STRING]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { alterResourceConfigs, ConfigType, TOPIC_CONFIGS } from '../topic-configs.js';
import { alterEach, type AlterConfigsResponse, encodeAlterConfigsResponse } from './33-alter-configs.js';
import type { ApiHandler } from './handler.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

interface Resource {
  resourceType: number;
  resourceName: string;
  configs: { name: string; operation: number; value: string | null }[];
}

interface Request {
  resources: Resource[];
  validateOnly: boolean;
}

const listOf = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

export const incrementalAlterConfigsHandler: ApiHandler<Request, AlterConfigsResponse> = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  flexibleVersion: 1,

  decode(r) {
    const resources = r.array((r): Resource => {
      const resource = {
        resourceType: r.int8(),
        resourceName: r.string(),
        configs: r.array((r) => {
          const c = { name: r.string(), operation: r.int8(), value: r.nullableString() };
          r.tags();
          return c;
        }),
      };
      r.tags();
      return resource;
    });
    const validateOnly = r.bool();
    r.tags();
    return { resources, validateOnly };
  },

  handle(req, { cluster }) {
    const responses = alterEach(req.resources, (res) =>
      alterResourceConfigs(cluster.topics, res.resourceType, res.resourceName, req.validateOnly, (current) => {
        const configs: Record<string, string> = { ...current };
        const seen = new Set<string>();
        const error = (errorCode: number, errorMessage: string) => ({ error: { errorCode, errorMessage } });
        for (const c of res.configs) {
          if (seen.has(c.name)) return error(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`);
          seen.add(c.name);
          const def = TOPIC_CONFIGS[c.name];
          if (!def) return error(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
          const isList = def.type === ConfigType.List;
          switch (c.operation) {
            case SET:
              if (c.value === null) return error(ErrorCode.INVALID_REQUEST, `Null value not supported for: ${c.name}`);
              configs[c.name] = c.value;
              break;
            case DELETE:
              delete configs[c.name];
              break;
            case APPEND:
            case SUBTRACT: {
              if (!isList) {
                return error(ErrorCode.INVALID_CONFIG, `Config value ${c.operation === APPEND ? 'append' : 'subtract'} is not allowed for config key: ${c.name}`);
              }
              const items = listOf(configs[c.name] ?? def.default);
              const given = listOf(c.value ?? '');
              const next = c.operation === APPEND ? [...items, ...given.filter((v) => !items.includes(v))] : items.filter((v) => !given.includes(v));
              configs[c.name] = next.join(',');
              break;
            }
            default:
              return error(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.operation} for ${c.name}; use SET (0), DELETE (1), APPEND (2) or SUBTRACT (3)`);
          }
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
