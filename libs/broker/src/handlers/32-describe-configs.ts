/**
 * DescribeConfigs (key 32), versions 0-3 (flexible version 4 is not served; clients step down).
 *
 * Topic resources (type 2) list every topic config of `TOPIC_CONFIGS` (Kafka 3.x's): the topic's own
 * settings with source TOPIC_CONFIG (Kafka's DYNAMIC_TOPIC_CONFIG, 1), the rest with Kafka's default and
 * source DEFAULT_CONFIG; synonyms (v1+, when asked) are the topic setting, then the broker config the
 * topic config defaults from with its Kafka default (`retention.ms` from `log.retention.hours` 168,
 * `max.message.bytes` from `message.max.bytes` 1048588), as Kafka reports them. An unknown topic is
 * UNKNOWN_TOPIC_OR_PARTITION (3). Broker resources (type 4) list a few broker configs, those set by the
 * broker's options as STATIC_BROKER_CONFIG and the rest as DEFAULT_CONFIG; `default.replication.factor`
 * is the node count, the replicas Metadata reports for a partition without an assignment. The name must
 * be empty or the id of the node asked, as in Kafka, or the resource gets INVALID_REQUEST (42). Other
 * resource types get INVALID_REQUEST too. A null or empty list of config names means all of them (kafkajs
 * sends an empty list as null); named configs that do not exist are left out.
 * v0 reports `is_default`; v1+ reports `config_source`; v3 adds `config_type` and `documentation` (always
 * null). Any node answers.
 *
 * Deliberate differences from Apache Kafka: configs are never sensitive; broker configs are read-only (the
 * broker's options; AlterConfigs refuses them).
 *
 *   DescribeConfigsRequest  => [resources: resource_type INT8 resource_name STRING
 *                              [configuration_keys STRING] (nullable)] include_synonyms BOOLEAN (v1+)
 *                              include_documentation BOOLEAN (v3+)
 *   DescribeConfigsResponse => throttle_time_ms INT32 [results: error_code INT16 error_message NULLABLE_STRING
 *                              resource_type INT8 resource_name STRING [configs: name STRING value NULLABLE_STRING
 *                              read_only BOOLEAN is_default BOOLEAN (v0) config_source INT8 (v1+) is_sensitive BOOLEAN
 *                              [synonyms: name STRING value NULLABLE_STRING source INT8] (v1+)
 *                              config_type INT8 (v3+) documentation NULLABLE_STRING (v3+)]]
 */
import type { Cluster } from '../cluster.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ConfigType, TOPIC_CONFIGS } from '../topic-configs.js';
import type { ApiHandler } from './handler.js';

/** Resource types (Kafka's ConfigResource.Type). */
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

/** Config sources (Kafka's DescribeConfigsResponse.ConfigSource). */
const SOURCE_TOPIC_CONFIG = 1;
const SOURCE_STATIC_BROKER_CONFIG = 4;
const SOURCE_DEFAULT_CONFIG = 5;

/** Types of the broker configs reported (v3+); topic configs' types are in `TOPIC_CONFIGS`. */
const BROKER_CONFIG_TYPES: Readonly<Record<string, ConfigType>> = {
  'broker.id': ConfigType.Int,
  'num.partitions': ConfigType.Int,
  'auto.create.topics.enable': ConfigType.Boolean,
  'default.replication.factor': ConfigType.Int,
  'delete.topic.enable': ConfigType.Boolean,
  'message.max.bytes': ConfigType.Int,
  'log.retention.ms': ConfigType.Long,
  'offsets.topic.replication.factor': ConfigType.Short,
  'socket.request.max.bytes': ConfigType.Int,
  'group.initial.rebalance.delay.ms': ConfigType.Int,
  'group.min.session.timeout.ms': ConfigType.Int,
  'group.max.session.timeout.ms': ConfigType.Int,
};

interface Resource {
  resourceType: number;
  resourceName: string;
  configNames: string[] | null;
}

interface Request {
  resources: Resource[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  source: number;
  synonyms: { name: string; value: string | null; source: number }[];
}

interface Result {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: ConfigEntry[];
}

interface Response {
  results: Result[];
}

/** A config in force: its value, where it comes from, and its synonyms in Kafka's order (the value in force first). */
interface Setting {
  value: string;
  source: number;
  synonyms: { name: string; value: string; source: number }[];
}

/**
 * Every topic config, as Kafka reports it: a topic override with source TOPIC_CONFIG (Kafka's
 * DYNAMIC_TOPIC_CONFIG), the rest with Kafka's default and source DEFAULT_CONFIG; the synonyms are the
 * override, then the broker config the topic config defaults from (`retention.ms` from `log.retention.hours`).
 */
function topicSettings(configs: Record<string, string>): Map<string, Setting> {
  const out = new Map<string, Setting>();
  for (const [name, def] of Object.entries(TOPIC_CONFIGS)) {
    const brokerSynonyms = def.synonym ? [{ name: def.synonym.name, value: def.synonym.value, source: SOURCE_DEFAULT_CONFIG }] : [];
    const value = configs[name];
    out.set(
      name,
      value === undefined
        ? { value: def.default, source: SOURCE_DEFAULT_CONFIG, synonyms: brokerSynonyms }
        : { value, source: SOURCE_TOPIC_CONFIG, synonyms: [{ name, value, source: SOURCE_TOPIC_CONFIG }, ...brokerSynonyms] },
    );
  }
  return out;
}

function brokerSettings(cluster: Cluster, nodeId: number): Map<string, Setting> {
  const o = cluster.options;
  const settings = new Map<string, Setting>();
  const fixed = (name: string, value: string): Setting => ({ value, source: SOURCE_STATIC_BROKER_CONFIG, synonyms: [{ name, value, source: SOURCE_STATIC_BROKER_CONFIG }] });
  const byDefault = (name: string, value: string): Setting => ({ value, source: SOURCE_DEFAULT_CONFIG, synonyms: [{ name, value, source: SOURCE_DEFAULT_CONFIG }] });
  const option = (name: string, value: string | number | boolean, kafkaDefault: string): Setting =>
    String(value) === kafkaDefault
      ? byDefault(name, kafkaDefault)
      : { ...fixed(name, String(value)), synonyms: [...fixed(name, String(value)).synonyms, ...byDefault(name, kafkaDefault).synonyms] };
  const replicas = String(cluster.nodes.length);
  for (const [name, setting] of [
    ['broker.id', fixed('broker.id', String(nodeId))],
    ['num.partitions', option('num.partitions', o.defaultPartitions, '1')],
    ['auto.create.topics.enable', option('auto.create.topics.enable', o.autoCreateTopics, 'true')],
    // Every partition is replicated on every node (Metadata lists them all), so that is the default.
    ['default.replication.factor', option('default.replication.factor', replicas, '1')],
    ['delete.topic.enable', byDefault('delete.topic.enable', 'true')],
    ['message.max.bytes', byDefault('message.max.bytes', '1048588')],
    ['log.retention.ms', byDefault('log.retention.ms', '604800000')],
    ['offsets.topic.replication.factor', option('offsets.topic.replication.factor', replicas, '3')],
    ['socket.request.max.bytes', option('socket.request.max.bytes', o.maxRequestBytes, '104857600')],
    ['group.initial.rebalance.delay.ms', option('group.initial.rebalance.delay.ms', o.groupInitialRebalanceDelayMs, '3000')],
    ['group.min.session.timeout.ms', option('group.min.session.timeout.ms', o.groupMinSessionTimeoutMs, '6000')],
    ['group.max.session.timeout.ms', option('group.max.session.timeout.ms', o.groupMaxSessionTimeoutMs, '1800000')],
  ] as const) {
    settings.set(name, setting);
  }
  return settings;
}

function entries(settings: Map<string, Setting>, names: string[] | null, readOnly: boolean, includeSynonyms: boolean): ConfigEntry[] {
  const wanted = names && names.length > 0 ? names : [...settings.keys()].sort();
  const out: ConfigEntry[] = [];
  for (const name of wanted) {
    const s = settings.get(name);
    if (!s) continue;
    const synonyms = includeSynonyms ? s.synonyms : [];
    out.push({ name, value: s.value, readOnly, source: s.source, synonyms });
  }
  return out;
}

export const describeConfigsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 3,

  decode(r, version) {
    const resources = r.array(
      (r): Resource => ({ resourceType: r.int8(), resourceName: r.string(), configNames: r.nullableArray((r) => r.string()) }),
    );
    const includeSynonyms = version >= 1 ? r.bool() : false;
    const includeDocumentation = version >= 3 ? r.bool() : false;
    return { resources, includeSynonyms, includeDocumentation };
  },

  handle(req, { cluster, node }) {
    const results = req.resources.map((res): Result => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const fail = (errorCode: number, errorMessage: string): Result => ({ ...base, errorCode, errorMessage, configs: [] });
      if (res.resourceType === RESOURCE_TOPIC) {
        const topic = cluster.topics.get(res.resourceName);
        if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${res.resourceName}' does not exist.`);
        const configs = entries(topicSettings(topic.configs), res.configNames, false, req.includeSynonyms);
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      }
      if (res.resourceType === RESOURCE_BROKER) {
        if (res.resourceName !== '' && res.resourceName !== String(node.id)) {
          return fail(
            ErrorCode.INVALID_REQUEST,
            `Unexpected broker id, expected ${node.id} or empty string, but received ${res.resourceName}; send a broker's configs request to that broker`,
          );
        }
        const configs = entries(brokerSettings(cluster, node.id), res.configNames, true, req.includeSynonyms);
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      }
      return fail(ErrorCode.INVALID_REQUEST, `resource type ${res.resourceType} is not supported; the embedded broker describes topics (2) and brokers (4)`);
    });
    return { results };
  },

  encode(w, res, version) {
    w.int32(0);
    w.array(res.results, (w, r) => {
      w.int16(r.errorCode).nullableString(r.errorMessage).int8(r.resourceType).string(r.resourceName);
      w.array(r.configs, (w, c) => {
        w.string(c.name).nullableString(c.value).bool(c.readOnly);
        if (version === 0) w.bool(c.source === SOURCE_DEFAULT_CONFIG);
        else w.int8(c.source);
        w.bool(false); // is_sensitive
        if (version >= 1) w.array(c.synonyms, (w, s) => w.string(s.name).nullableString(s.value).int8(s.source));
        if (version >= 3) w.int8(TOPIC_CONFIGS[c.name]?.type ?? BROKER_CONFIG_TYPES[c.name] ?? ConfigType.Unknown).nullableString(null);
      });
    });
  },

  errorResponse(req, errorCode) {
    return {
      results: req.resources.map((r) => ({
        errorCode,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      })),
    };
  },

  topics: (req) => req.resources.filter((r) => r.resourceType === RESOURCE_TOPIC).map((r) => r.resourceName),
};
