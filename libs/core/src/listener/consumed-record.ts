/**
 * A record as the listener container hands it to handlers and error handlers: bytes as they were
 * consumed, before deserialization, so a recoverer can forward them untouched.
 */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Record timestamp in ms since the epoch. */
  readonly timestamp: number;
  /** `CreateTime` (set by the producer) or `LogAppendTime` (set by the broker). */
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values as consumed; a header sent more than once keeps its last value (see `headerValues`). */
  readonly headers: Readonly<Record<string, Buffer | undefined>>;
  /**
   * Every value of each header, in the order sent: a header sent more than once (a dead letter's
   * `kafka_dlt-original-*` history) has them all. Absent on records made by hand: then `headers` is all.
   */
  readonly headerValues?: Readonly<Record<string, readonly Buffer[]>>;
}
