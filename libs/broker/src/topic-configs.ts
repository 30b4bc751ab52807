/**
 * Kafka's topic configs: every name a topic accepts, its type, its default, the broker config it defaults
 * from (its synonym), and the values it accepts. CreateTopics, AlterConfigs and IncrementalAlterConfigs
 * validate against this table and DescribeConfigs reports from it, as Kafka 3.x does (its `LogConfig`),
 * without the deprecated `message.format.version` and the tiered-storage configs.
 *
 * The broker acts on `message.timestamp.type` and `max.message.bytes`, read at each produce, so a change
 * takes effect at once; the others are stored and reported only (the log is in memory: no segments,
 * retention or compaction).
 */
import { ErrorCode } from './protocol/error-codes.js';

/** Config types as DescribeConfigs v3+ numbers them (Kafka's `DescribeConfigsResponse.ConfigType`). */
export const enum ConfigType {
  Unknown = 0,
  Boolean = 1,
  String = 2,
  Int = 3,
  Short = 4,
  Long = 5,
  Double = 6,
  List = 7,
}

export interface TopicConfigDef {
  readonly type: ConfigType;
  /** The value a topic has when it sets none, as Kafka reports it. */
  readonly default: string;
  /** The broker config this one defaults from, with the value Kafka's broker has by default. */
  readonly synonym?: { readonly name: string; readonly value: string };
  /** Smallest (and largest) number accepted, for numeric configs. */
  readonly min?: number;
  readonly max?: number;
  /** The values accepted, for enumerated configs (each element of a list config). */
  readonly oneOf?: readonly string[];
}

const LONG_MAX = '9223372036854775807';

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  'cleanup.policy': { type: ConfigType.List, default: 'delete', synonym: { name: 'log.cleanup.policy', value: 'delete' }, oneOf: ['compact', 'delete'] },
  'compression.type': {
    type: ConfigType.String,
    default: 'producer',
    synonym: { name: 'compression.type', value: 'producer' },
    oneOf: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
  },
  'delete.retention.ms': { type: ConfigType.Long, default: '86400000', synonym: { name: 'log.cleaner.delete.retention.ms', value: '86400000' }, min: 0 },
  'file.delete.delay.ms': { type: ConfigType.Long, default: '60000', synonym: { name: 'log.segment.delete.delay.ms', value: '60000' }, min: 0 },
  'flush.messages': { type: ConfigType.Long, default: LONG_MAX, synonym: { name: 'log.flush.interval.messages', value: LONG_MAX }, min: 1 },
  'flush.ms': { type: ConfigType.Long, default: LONG_MAX, synonym: { name: 'log.flush.scheduler.interval.ms', value: LONG_MAX }, min: 0 },
  'follower.replication.throttled.replicas': { type: ConfigType.List, default: '' },
  'index.interval.bytes': { type: ConfigType.Int, default: '4096', synonym: { name: 'log.index.interval.bytes', value: '4096' }, min: 0 },
  'leader.replication.throttled.replicas': { type: ConfigType.List, default: '' },
  'max.compaction.lag.ms': { type: ConfigType.Long, default: LONG_MAX, synonym: { name: 'log.cleaner.max.compaction.lag.ms', value: LONG_MAX }, min: 1 },
  'max.message.bytes': { type: ConfigType.Int, default: '1048588', synonym: { name: 'message.max.bytes', value: '1048588' }, min: 0 },
  'message.downconversion.enable': { type: ConfigType.Boolean, default: 'true', synonym: { name: 'log.message.downconversion.enable', value: 'true' } },
  'message.timestamp.difference.max.ms': {
    type: ConfigType.Long,
    default: LONG_MAX,
    synonym: { name: 'log.message.timestamp.difference.max.ms', value: LONG_MAX },
    min: 0,
  },
  'message.timestamp.type': {
    type: ConfigType.String,
    default: 'CreateTime',
    synonym: { name: 'log.message.timestamp.type', value: 'CreateTime' },
    oneOf: ['CreateTime', 'LogAppendTime'],
  },
  'min.cleanable.dirty.ratio': { type: ConfigType.Double, default: '0.5', synonym: { name: 'log.cleaner.min.cleanable.ratio', value: '0.5' }, min: 0, max: 1 },
  'min.compaction.lag.ms': { type: ConfigType.Long, default: '0', synonym: { name: 'log.cleaner.min.compaction.lag.ms', value: '0' }, min: 0 },
  'min.insync.replicas': { type: ConfigType.Int, default: '1', synonym: { name: 'min.insync.replicas', value: '1' }, min: 1 },
  preallocate: { type: ConfigType.Boolean, default: 'false', synonym: { name: 'log.preallocate', value: 'false' } },
  'retention.bytes': { type: ConfigType.Long, default: '-1', synonym: { name: 'log.retention.bytes', value: '-1' } },
  'retention.ms': { type: ConfigType.Long, default: '604800000', synonym: { name: 'log.retention.hours', value: '168' }, min: -1 },
  'segment.bytes': { type: ConfigType.Int, default: '1073741824', synonym: { name: 'log.segment.bytes', value: '1073741824' }, min: 14 },
  'segment.index.bytes': { type: ConfigType.Int, default: '10485760', synonym: { name: 'log.index.size.max.bytes', value: '10485760' }, min: 4 },
  'segment.jitter.ms': { type: ConfigType.Long, default: '0', synonym: { name: 'log.roll.jitter.hours', value: '0' }, min: 0 },
  'segment.ms': { type: ConfigType.Long, default: '604800000', synonym: { name: 'log.roll.hours', value: '168' }, min: 1 },
  'unclean.leader.election.enable': { type: ConfigType.Boolean, default: 'false', synonym: { name: 'unclean.leader.election.enable', value: 'false' } },
};

/** Topic configs with Kafka's defaults. */
export const DEFAULT_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TOPIC_CONFIGS).map(([name, def]) => [name, def.default]),
);

const TYPE_NAMES: Record<number, string> = {
  [ConfigType.Int]: 'INT',
  [ConfigType.Long]: 'LONG',
  [ConfigType.Double]: 'DOUBLE',
};

const INT_RANGE = [-(2 ** 31), 2 ** 31 - 1];

/** Why `value` is not a valid value of topic config `name`, in Kafka's words, or null when it is. */
export function topicConfigValueProblem(name: string, value: string | null): string | null {
  const def = TOPIC_CONFIGS[name];
  if (!def) return `Unknown topic config name: ${name}`;
  const invalid = (why: string) => `Invalid value ${value} for configuration ${name}: ${why}`;
  if (value === null) return `Null value not supported for topic config '${name}'; omit it (or delete it) to keep the default.`;
  const v = value.trim();
  switch (def.type) {
    case ConfigType.Boolean:
      return /^(true|false)$/i.test(v) ? null : invalid('Expected value to be either true or false');
    case ConfigType.Int:
    case ConfigType.Long:
    case ConfigType.Double: {
      const ok = def.type === ConfigType.Double ? v !== '' && Number.isFinite(Number(v)) : /^[-+]?\d+$/.test(v);
      if (!ok) return invalid(`Not a number of type ${TYPE_NAMES[def.type]}`);
      const n = def.type === ConfigType.Long ? BigInt(v) : Number(v);
      if (def.type === ConfigType.Int && (Number(n) < INT_RANGE[0] || Number(n) > INT_RANGE[1])) return invalid('Not a number of type INT');
      if (def.type === ConfigType.Long && (BigInt(n) < -(2n ** 63n) || BigInt(n) > 2n ** 63n - 1n)) return invalid('Not a number of type LONG');
      if (def.min !== undefined && Number(n) < def.min) return invalid(`Value must be at least ${def.min}`);
      if (def.max !== undefined && Number(n) > def.max) return invalid(`Value must be no more than ${def.max}`);
      return null;
    }
    case ConfigType.String:
      return def.oneOf && !def.oneOf.includes(v) ? invalid(`String must be one of: ${def.oneOf.join(', ')}`) : null;
    case ConfigType.List: {
      if (!def.oneOf) return null;
      const items = v.split(',').map((s) => s.trim());
      const bad = items.find((s) => !def.oneOf!.includes(s));
      return bad === undefined ? null : invalid(`String must be one of: ${def.oneOf.join(', ')}`);
    }
    default:
      return null;
  }
}

/** Why a topic's configs cannot be used, in Kafka's words (the first problem found), or null. */
export function topicConfigProblem(configs: Readonly<Record<string, string | null>>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const problem = topicConfigValueProblem(name, value);
    if (problem) return problem;
  }
  return null;
}

/** Resource types of the config APIs (Kafka's `ConfigResource.Type`). */
export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

/** The outcome of altering one resource's configs: Kafka's error code and message (NONE and null on success). */
export interface AlterOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/**
 * Checks and (unless `validateOnly`) applies new configs to a resource, as AlterConfigs and
 * IncrementalAlterConfigs do: `change` turns the topic's current configs into the new set, or returns the
 * error the request gets. Topics: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, an unknown name or bad
 * value INVALID_CONFIG with Kafka's message. Broker configs are the broker's options: INVALID_REQUEST, as
 * Kafka answers for a config that cannot be updated dynamically. Other resource types: INVALID_REQUEST.
 */
export function alterResourceConfigs(
  topics: ReadonlyMap<string, { configs: Record<string, string> }>,
  resourceType: number,
  resourceName: string,
  validateOnly: boolean,
  change: (current: Readonly<Record<string, string>>) => { configs: Record<string, string> } | { error: AlterOutcome },
): AlterOutcome {
  const fail = (errorCode: number, errorMessage: string): AlterOutcome => ({ errorCode, errorMessage });
  if (resourceType === RESOURCE_BROKER) {
    return fail(
      ErrorCode.INVALID_REQUEST,
      `Cannot update broker configs dynamically: the embedded broker's configs are set by its options (EmbeddedKafkaBroker.start or the CLI); restart it with the options wanted`,
    );
  }
  if (resourceType !== RESOURCE_TOPIC) {
    return fail(ErrorCode.INVALID_REQUEST, `resource type ${resourceType} has no configs here; the embedded broker alters topic (2) configs`);
  }
  const topic = topics.get(resourceName);
  if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${resourceName}' does not exist.`);
  const next = change(topic.configs);
  if ('error' in next) return next.error;
  const { configs } = next;
  const problem = topicConfigProblem(configs);
  if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
  if (!validateOnly) {
    for (const name of Object.keys(topic.configs)) delete topic.configs[name];
    Object.assign(topic.configs, configs);
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}
