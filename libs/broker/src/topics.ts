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
  ) {
    this.configs = { ...configs };
    this.addPartitions(partitions);
  }

  /** Grows the topic to `count` partitions (CreatePartitions); never shrinks. */
  addPartitions(count: number): void {
    for (let i = this.partitions.length; i < count; i++) this.partitions.push(new Partition(i));
  }

  partition(index: number): Partition | undefined {
    return this.partitions[index];
  }

  /** `message.timestamp.type=LogAppendTime`: appended batches get the broker's append time. */
  get logAppendTime(): boolean {
    return this.configs['message.timestamp.type'] === 'LogAppendTime';
  }
}
