/**
 * Topics and their partitions. A topic name follows Kafka's rules: 1 to 249 characters from
 * [a-zA-Z0-9._-], and neither "." nor "..".
 */
import { randomBytes } from 'node:crypto';
import { PartitionLog } from './log.js';

const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * Most partitions one CreateTopics or CreatePartitions request may create, Kafka's own bound
 * (a KRaft controller answers POLICY_VIOLATION above it). It also keeps one corrupt or hostile request
 * from allocating millions of partitions.
 */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

/** The POLICY_VIOLATION message for a request that would create `requested` partitions. */
export const tooManyPartitionsMessage = (requested: number) =>
  `Excessively large number of partitions per request: ${requested} requested, the limit is ${MAX_PARTITIONS_PER_REQUEST}; ` +
  'create the partitions over several requests';

/** Why `name` is not a legal topic name, or null if it is. */
export function topicNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a topic name must be a non-empty string';
  if (name === '.' || name === '..') return `topic name '${name}' is reserved; choose another name`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name '${name.slice(0, 40)}…' is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`;
  if (!LEGAL.test(name)) return `topic name '${name}' has characters outside [a-zA-Z0-9._-]; use only letters, digits, '.', '_' and '-'`;
  return null;
}

export { DEFAULT_TOPIC_CONFIGS, topicConfigProblem } from './topic-configs.js';

/** Values of `message.timestamp.type`, as Kafka spells them. */
export const TIMESTAMP_TYPES = ['CreateTime', 'LogAppendTime'] as const;

export class Partition {
  readonly log = new PartitionLog();
  /**
   * Replicas given by a manual assignment (CreateTopics, CreatePartitions) or a reassignment, the preferred
   * leader first; null for the default: every node a replica, led by node (index mod N).
   */
  replicas: readonly number[] | null = null;
  constructor(readonly index: number) {}
}

export class Topic {
  /** Topic id (UUID), reported by Metadata v10+ and used by newer clients. */
  readonly id = randomBytes(16);
  readonly partitions: Partition[] = [];
  readonly configs: Record<string, string>;

  constructor(
    readonly name: string,
    partitions: number,
    configs: Record<string, string> = {},
    replicas?: readonly (readonly number[])[],
  ) {
    this.configs = { ...configs };
    this.addPartitions(partitions, replicas);
  }

  /**
   * Grows the topic to `count` partitions (CreatePartitions); never shrinks. `replicas` assigns the new
   * partitions' replicas in order (validated by the caller); without it they get the default.
   */
  addPartitions(count: number, replicas?: readonly (readonly number[])[]): void {
    const first = this.partitions.length;
    for (let i = first; i < count; i++) {
      const partition = new Partition(i);
      partition.replicas = replicas?.[i - first] ?? null;
      this.partitions.push(partition);
    }
  }

  partition(index: number): Partition | undefined {
    return this.partitions[index];
  }

  /** An internal topic (`__consumer_offsets`), flagged so in Metadata. */
  get internal(): boolean {
    return this.name === '__consumer_offsets';
  }

  /** `message.timestamp.type=LogAppendTime`: appended batches get the broker's append time. */
  get logAppendTime(): boolean {
    return this.configs['message.timestamp.type'] === 'LogAppendTime';
  }
}

/**
 * Why a manual replica assignment cannot be used, in Kafka's words, or null: each partition needs replicas,
 * each a known broker id, none twice, and every partition the same number of them.
 */
export function replicaAssignmentProblem(assignment: readonly (readonly number[])[], brokerIds: readonly number[]): string | null {
  let factor: number | undefined;
  for (const [i, replicas] of assignment.entries()) {
    if (replicas.length === 0) return `The manual partition assignment of partition ${i} has no replicas; give at least one broker id.`;
    const unknown = replicas.find((id) => !brokerIds.includes(id));
    if (unknown !== undefined) {
      return `The manual partition assignment includes broker ${unknown}, but no such broker is registered; the brokers are ${brokerIds.join(', ')}.`;
    }
    if (new Set(replicas).size !== replicas.length) {
      // Every id is known, so a list longer than the broker count repeats one: not echoed, it may be huge.
      if (replicas.length > brokerIds.length) return `The manual partition assignment of partition ${i} lists ${replicas.length} replicas for ${brokerIds.length} brokers; it includes a duplicate replica.`;
      return `The manual partition assignment includes a duplicate replica: [${replicas.join(', ')}].`;
    }
    factor ??= replicas.length;
    if (replicas.length !== factor) return `All partitions in the manual partition assignment must have the same number of replicas: ${factor} and ${replicas.length} were given.`;
  }
  return null;
}
