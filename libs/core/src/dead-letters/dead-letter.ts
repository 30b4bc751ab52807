/**
 * A dead-letter record as an operator reads it: where it sits in the DLT, its key and value (raw, and
 * deserialized when they are JSON or UTF-8 text), its own headers, and the `kafka_dlt-*` headers decoded.
 */
import { DltHeaders, LISTENER_FAILURE_CLASS } from '../error-handling/dead-letter-headers.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** Headers the replayer adds to a replayed record. */
export const ReplayHeaders = {
  /** UTF-8 decimal: how many times the record was replayed from a DLT (1 on the first replay). */
  REPLAY_COUNT: 'kafka-nest_replay-count',
  /** UTF-8 `<dlt>-<partition>@<offset>`: the dead letter the replayed record was made from. */
  REPLAYED_FROM: 'kafka-nest_replayed-from',
} as const;

const DLT_HEADER_PREFIX = 'kafka_dlt-';

/** Where a dead letter came from, as its `kafka_dlt-original-*` headers say (each absent when its header is). */
export interface DeadLetterOrigin {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  /** ms since the epoch. */
  readonly timestamp?: number;
  readonly timestampType?: string;
  /** Group of the consumer that failed. */
  readonly consumerGroup?: string;
}

/** The failure a dead letter carries (`kafka_dlt-exception-*`, or `kafka_dlt-key-exception-*` for a key). */
export interface DeadLetterException {
  /**
   * The class of the failure: `kafka_dlt-exception-fqcn`, or, when that names a listener wrapper
   * (kafka-nest's `ListenerExecutionFailedError`, Spring's `ListenerExecutionFailedException`), the class the
   * listener threw (`-cause-fqcn`), as a Spring reader finds it.
   */
  readonly className?: string;
  /** `kafka_dlt-exception-cause-fqcn`. */
  readonly causeClassName?: string;
  readonly message?: string;
  readonly stackTrace?: string;
}

/** One record of a dead-letter topic, decoded. */
export interface DeadLetter {
  /** The dead-letter topic. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Timestamp of the dead-letter record: when it was dead-lettered (ms since the epoch). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The key as text when it is valid UTF-8. */
  readonly keyText?: string;
  /** The value parsed as JSON when it is JSON, else as text when it is valid UTF-8; absent for binary values. */
  readonly deserializedValue?: unknown;
  /** The record's headers other than `kafka_dlt-*` (those the replay sends back). */
  readonly headers: Readonly<Record<string, Buffer>>;
  readonly original: DeadLetterOrigin;
  /** The value's failure (or the key's, when only the key failed). */
  readonly exception: DeadLetterException;
  /** Set when the key failed to deserialize (`kafka_dlt-key-exception-*`). */
  readonly keyException?: DeadLetterException;
  /** Times the record was already replayed (the `kafka-nest_replay-count` header; 0 without it). */
  readonly replayCount: number;
  /**
   * Whether the replay group already handled it (replayed or parked it): `'done'`, or `'pending'`. Set by
   * `DeadLetterReplayer.list`.
   */
  readonly status: 'pending' | 'done';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, undefined when they are not valid UTF-8. */
export function textOf(bytes: Buffer | null | undefined): string | undefined {
  if (!bytes) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function deserialize(value: Buffer | null): unknown {
  const text = textOf(value);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A 4- or 8-byte big-endian integer header (Java's int / long), undefined when absent or of another size. */
function intHeader(bytes: Buffer | undefined): number | undefined {
  if (!bytes) return undefined;
  if (bytes.length === 4) return bytes.readInt32BE(0);
  if (bytes.length === 8) return Number(bytes.readBigInt64BE(0));
  return undefined;
}

/** What `kafka_dlt-exception-fqcn` says when a listener threw: the class thrown is in `-cause-fqcn`. */
const LISTENER_WRAPPERS: ReadonlySet<string> = new Set([LISTENER_FAILURE_CLASS, 'org.springframework.kafka.listener.ListenerExecutionFailedException']);

function exceptionOf(h: Readonly<Record<string, Buffer | undefined>>, key: boolean): DeadLetterException {
  const out: { -readonly [K in keyof DeadLetterException]: DeadLetterException[K] } = {};
  const fqcn = textOf(h[key ? DltHeaders.KEY_EXCEPTION_FQCN : DltHeaders.EXCEPTION_FQCN]);
  const message = textOf(h[key ? DltHeaders.KEY_EXCEPTION_MESSAGE : DltHeaders.EXCEPTION_MESSAGE]);
  const stackTrace = textOf(h[key ? DltHeaders.KEY_EXCEPTION_STACKTRACE : DltHeaders.EXCEPTION_STACKTRACE]);
  const causeClassName = key ? undefined : textOf(h[DltHeaders.EXCEPTION_CAUSE_FQCN]);
  const className = fqcn !== undefined && LISTENER_WRAPPERS.has(fqcn) && causeClassName !== undefined ? causeClassName : fqcn;
  if (className !== undefined) out.className = className;
  if (causeClassName !== undefined) out.causeClassName = causeClassName;
  if (message !== undefined) out.message = message;
  if (stackTrace !== undefined) out.stackTrace = stackTrace;
  return out;
}

/** The replay count a record's headers carry: 0 without the header or with a malformed one. */
export function replayCountOf(headers: Readonly<Record<string, Buffer | undefined>>): number {
  const n = Number(textOf(headers[ReplayHeaders.REPLAY_COUNT]));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Decodes a record read from a dead-letter topic. */
export function decodeDeadLetter(record: ConsumedRecord, status: DeadLetter['status'] = 'pending'): DeadLetter {
  const h = record.headers;
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value !== undefined && !name.startsWith(DLT_HEADER_PREFIX)) headers[name] = value;
  }
  const original: { -readonly [K in keyof DeadLetterOrigin]: DeadLetterOrigin[K] } = {};
  const set = <K extends keyof DeadLetterOrigin>(k: K, v: DeadLetterOrigin[K]) => {
    if (v !== undefined) original[k] = v;
  };
  set('topic', textOf(h[DltHeaders.ORIGINAL_TOPIC]));
  set('partition', intHeader(h[DltHeaders.ORIGINAL_PARTITION]));
  set('offset', intHeader(h[DltHeaders.ORIGINAL_OFFSET]));
  set('timestamp', intHeader(h[DltHeaders.ORIGINAL_TIMESTAMP]));
  set('timestampType', textOf(h[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]));
  set('consumerGroup', textOf(h[DltHeaders.ORIGINAL_CONSUMER_GROUP]));
  const keyException = h[DltHeaders.KEY_EXCEPTION_FQCN] ? exceptionOf(h, true) : undefined;
  const valueException = exceptionOf(h, false);
  const keyText = textOf(record.key);
  const deserializedValue = deserialize(record.value);
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    ...(keyText !== undefined && { keyText }),
    ...(deserializedValue !== undefined && { deserializedValue }),
    headers,
    original,
    exception: valueException.className === undefined && keyException ? keyException : valueException,
    ...(keyException && { keyException }),
    replayCount: replayCountOf(h),
    status,
  };
}

/** Headers of the non-blocking retries (`retry_topic-attempts`...): a replayed record starts its retries afresh. */
const RETRY_TOPIC_HEADER_PREFIX = 'retry_topic-';

/** Every value of each header of `record`, in order (a header sent more than once keeps them all). */
export function allHeaderValues(record: ConsumedRecord): Record<string, readonly Buffer[]> {
  const out: Record<string, readonly Buffer[]> = {};
  for (const [name, last] of Object.entries(record.headers)) {
    const all = record.headerValues?.[name];
    if (all?.length) out[name] = all;
    else if (last !== undefined) out[name] = [last];
  }
  return out;
}

/**
 * Headers of a replayed record: the dead letter's own headers (every value of each) without `kafka_dlt-*`
 * and `retry_topic-*`, with the replay headers set.
 */
export function replayHeaders(letter: DeadLetter, record: ConsumedRecord): Record<string, readonly Buffer[]> {
  const kept: Record<string, readonly Buffer[]> = {};
  for (const [name, values] of Object.entries(allHeaderValues(record))) {
    if (!name.startsWith(DLT_HEADER_PREFIX) && !name.startsWith(RETRY_TOPIC_HEADER_PREFIX)) kept[name] = values;
  }
  return {
    ...kept,
    [ReplayHeaders.REPLAY_COUNT]: [Buffer.from(String(letter.replayCount + 1), 'utf8')],
    [ReplayHeaders.REPLAYED_FROM]: [Buffer.from(`${letter.topic}-${letter.partition}@${letter.offset}`, 'utf8')],
  };
}

/**
 * A dead letter as JSON (the console's and the CLI's `--json` form): key and value as base64 plus their
 * text, headers as text when they are UTF-8 and base64 otherwise.
 */
export function deadLetterToJSON(letter: DeadLetter): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(letter.headers)) headers[name] = textOf(value) ?? `base64:${value.toString('base64')}`;
  return {
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    timestamp: letter.timestamp,
    key: letter.key?.toString('base64') ?? null,
    keyText: letter.keyText ?? null,
    value: letter.value?.toString('base64') ?? null,
    deserializedValue: letter.deserializedValue ?? null,
    headers,
    original: letter.original,
    exception: letter.exception,
    ...(letter.keyException && { keyException: letter.keyException }),
    replayCount: letter.replayCount,
    status: letter.status,
  };
}
