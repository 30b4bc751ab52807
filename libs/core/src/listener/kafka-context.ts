import type { ConsumedRecord } from './consumed-record.js';

/**
 * What a listener knows about the record in hand, injected by `@Ctx()`. Mirrors what Spring Kafka offers
 * through `@Header(KafkaHeaders.*)` and `ConsumerRecord`.
 */
export class KafkaContext {
  private attempt: number | (() => number);

  constructor(
    /** The record as consumed: raw key, value and headers. */
    readonly record: ConsumedRecord,
    /** The consumer group. */
    readonly groupId: string,
    /** The listener id (`@KafkaListener({ id })`). */
    readonly listenerId: string,
    /** The delivery attempt, or a function giving it (asked on first use). */
    deliveryAttempt: number | (() => number),
  ) {
    this.attempt = deliveryAttempt;
  }

  /** 1 for the first delivery, 2 for the first retry... (Spring's `KafkaHeaders.DELIVERY_ATTEMPT`), from the error handler. */
  get deliveryAttempt(): number {
    if (typeof this.attempt === 'function') this.attempt = this.attempt();
    return this.attempt;
  }

  get topic(): string {
    return this.record.topic;
  }

  get partition(): number {
    return this.record.partition;
  }

  get offset(): number {
    return this.record.offset;
  }

  /** Milliseconds since the epoch. */
  get timestamp(): number {
    return this.record.timestamp;
  }

  /** The raw key, or null. */
  get key(): Buffer | null {
    return this.record.key;
  }

  /** The raw value, or null (a tombstone). */
  get value(): Buffer | null {
    return this.record.value;
  }

  /** Raw header values by name; a header sent more than once gives its last value (see `headerValues`). */
  get headers(): Readonly<Record<string, Buffer | undefined>> {
    return this.record.headers;
  }

  /**
   * Every value of header `name`, in the order sent (empty when absent). A record dead-lettered twice has
   * two `kafka_dlt-original-topic` values, the newest last, which is also what `headers` gives.
   */
  headerValues(name: string): Buffer[] {
    const all = this.record.headerValues?.[name];
    if (all) return [...all];
    const last = this.record.headers[name];
    return last === undefined ? [] : [last];
  }
}

/**
 * `@Ctx()` of a batch listener: the records of the batch (all of one partition, in offset order) and a
 * `KafkaContext` for each.
 */
export class KafkaBatchContext {
  private recordsRef: readonly ConsumedRecord[] | (() => readonly ConsumedRecord[]);

  constructor(
    /** The records, or a function making them when first asked for (the container passes one). */
    records: readonly ConsumedRecord[] | (() => readonly ConsumedRecord[]),
    readonly groupId: string,
    readonly listenerId: string,
    /** 1 for the first delivery of this batch, 2 for its first retry... */
    readonly deliveryAttempt: number,
  ) {
    this.recordsRef = records;
  }

  /** The records of the batch, in offset order. */
  get records(): readonly ConsumedRecord[] {
    const ref = this.recordsRef;
    return typeof ref === 'function' ? (this.recordsRef = ref()) : ref;
  }

  get topic(): string {
    return this.records[0]?.topic ?? '';
  }

  get partition(): number {
    return this.records[0]?.partition ?? -1;
  }

  /** A `KafkaContext` per record. */
  get contexts(): KafkaContext[] {
    return this.records.map((r) => new KafkaContext(r, this.groupId, this.listenerId, this.deliveryAttempt));
  }

  /** Plain data for logs and `JSON.stringify`: the records, not how they are made. */
  toJSON(): { records: readonly ConsumedRecord[]; groupId: string; listenerId: string; deliveryAttempt: number } {
    const { records, groupId, listenerId, deliveryAttempt } = this;
    return { records, groupId, listenerId, deliveryAttempt };
  }
}
