/**
 * The headers a dead-lettered record carries, named and encoded exactly as Spring Kafka's
 * `KafkaHeaders.DLT_*` and `DeadLetterPublishingRecoverer` do, so a Spring consumer can read our DLTs and
 * we can read theirs.
 */
import { DeserializationError } from '../kafka.errors.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { unwrapListenerError } from './failed-record-tracker.js';

/** Spring Kafka's `KafkaHeaders.DLT_*` names. */
export const DltHeaders = {
  /** UTF-8 topic name. */
  ORIGINAL_TOPIC: 'kafka_dlt-original-topic',
  /** 4-byte big-endian int. */
  ORIGINAL_PARTITION: 'kafka_dlt-original-partition',
  /** 8-byte big-endian long. */
  ORIGINAL_OFFSET: 'kafka_dlt-original-offset',
  /** 8-byte big-endian long, ms since the epoch. */
  ORIGINAL_TIMESTAMP: 'kafka_dlt-original-timestamp',
  /** UTF-8 `CreateTime` or `LogAppendTime`. */
  ORIGINAL_TIMESTAMP_TYPE: 'kafka_dlt-original-timestamp-type',
  /** UTF-8 group id of the consumer that failed. */
  ORIGINAL_CONSUMER_GROUP: 'kafka_dlt-original-consumer-group',
  /**
   * UTF-8 class name of the failure: `ListenerExecutionFailedError` when the listener threw (Spring:
   * `ListenerExecutionFailedException`), `DeserializationError` when the record could not be read.
   */
  EXCEPTION_FQCN: 'kafka_dlt-exception-fqcn',
  /** UTF-8 class name of what the listener threw (Spring's `findRootCause`: the wrapper looked through). */
  EXCEPTION_CAUSE_FQCN: 'kafka_dlt-exception-cause-fqcn',
  /** UTF-8 error message. */
  EXCEPTION_MESSAGE: 'kafka_dlt-exception-message',
  /** UTF-8 stack trace, with `Caused by:` sections for the cause chain. */
  EXCEPTION_STACKTRACE: 'kafka_dlt-exception-stacktrace',
  /** As `EXCEPTION_FQCN`, when the record's key could not be deserialized. */
  KEY_EXCEPTION_FQCN: 'kafka_dlt-key-exception-fqcn',
  /** As `EXCEPTION_MESSAGE`, when the record's key could not be deserialized. */
  KEY_EXCEPTION_MESSAGE: 'kafka_dlt-key-exception-message',
  /** As `EXCEPTION_STACKTRACE`, when the record's key could not be deserialized. */
  KEY_EXCEPTION_STACKTRACE: 'kafka_dlt-key-exception-stacktrace',
} as const;

const EXCEPTION_HEADERS: readonly string[] = [
  DltHeaders.EXCEPTION_FQCN,
  DltHeaders.EXCEPTION_CAUSE_FQCN,
  DltHeaders.EXCEPTION_MESSAGE,
  DltHeaders.EXCEPTION_STACKTRACE,
  DltHeaders.KEY_EXCEPTION_FQCN,
  DltHeaders.KEY_EXCEPTION_MESSAGE,
  DltHeaders.KEY_EXCEPTION_STACKTRACE,
];

/** Java's `ByteBuffer.allocate(4).putInt(n)`. */
export function int32Bytes(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

/** Java's `ByteBuffer.allocate(8).putLong(n)`. */
export function int64Bytes(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(Math.trunc(value)));
  return out;
}

/** The class name of an error, as a Java FQCN header would carry it (JavaScript has no packages). */
export function errorClassName(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name || 'Error';
  return typeof error === 'object' && error !== null ? (error.constructor?.name ?? 'Object') : typeof error;
}

function causeChain(error: Error): unknown[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>([error]);
  for (let cause: unknown = error.cause; cause !== undefined && cause !== null && !seen.has(cause); ) {
    seen.add(cause);
    chain.push(cause);
    cause = (cause as { cause?: unknown }).cause;
  }
  return chain;
}

/** Java's `Throwable.toString()`: the class name, then `: message` when there is one. */
function throwableLine(error: Error): string {
  const className = errorClassName(error);
  return error.message ? `${className}: ${error.message}` : className;
}

/**
 * The frames of an error's stack (`\n    at ...` lines), without V8's first line: that one is
 * `${error.name}: ${message}`, and `name` is `Error` in a subclass that does not set it.
 */
function framesOf(error: Error): string {
  const stack = error.stack;
  if (typeof stack !== 'string') return '';
  const header = Error.prototype.toString.call(error);
  if (stack.startsWith(`${header}\n`)) return stack.slice(header.length);
  const firstFrame = stack.search(/\n\s+at /);
  return firstFrame < 0 ? '' : stack.slice(firstFrame);
}

/**
 * Like Java's `printStackTrace`: `ClassName: message` and the error's frames, then a `Caused by:` section
 * per cause. The first line names the class as the `-fqcn` header does (`OrderFailedError: ...`, where V8's
 * own stack says `Error: ...` for a subclass that does not set `name`).
 */
export function stackTraceOf(error: Error): string {
  let out = throwableLine(error) + framesOf(error);
  for (const cause of causeChain(error)) {
    out += `\nCaused by: ${cause instanceof Error ? throwableLine(cause) + framesOf(cause) : String(cause)}`;
  }
  return out;
}

/** How `deadLetterHeaders` treats headers a record already carries from an earlier dead-lettering. */
export interface DeadLetterHeaderOptions {
  /**
   * Add the `kafka_dlt-original-*` headers after those already there (a record dead-lettered again carries
   * the history, the newest last), rather than keep only the first ones. Spring's `appendOriginalHeaders`.
   * @default true
   */
  readonly appendOriginalHeaders?: boolean;
  /**
   * Remove exception headers of an earlier dead-lettering before adding this one's (false: append them,
   * keeping the history). Spring's `stripPreviousExceptionHeaders`. @default true
   */
  readonly stripPreviousExceptionHeaders?: boolean;
}

/** The class named by `kafka_dlt-exception-fqcn` for a listener failure (Spring: `ListenerExecutionFailedException`). */
export const LISTENER_FAILURE_CLASS = 'ListenerExecutionFailedError';

/** Every value of each of the record's headers, in order. */
function valuesOf(record: ConsumedRecord): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const [name, last] of Object.entries(record.headers)) {
    const all = record.headerValues?.[name];
    out.set(name, all ? [...all] : last === undefined ? [] : [last]);
  }
  return out;
}

/**
 * The headers of the dead-letter record, laid out as Spring Kafka's `DeadLetterPublishingRecoverer` lays
 * them: the original record's headers (every value), then the `kafka_dlt-original-*` headers (appended to
 * those of an earlier dead-lettering, by default) and the exception headers (replacing an earlier
 * dead-lettering's, by default). A header with several values is given as an array, sent once per value.
 *
 * For a listener failure, `kafka_dlt-exception-fqcn` names `ListenerExecutionFailedError` (as Spring names
 * its `ListenerExecutionFailedException`) and `kafka_dlt-exception-cause-fqcn` the class the listener threw
 * (Spring's `findRootCause` looks through that wrapper only), so that a Spring reader of `cause-fqcn` finds
 * the user's error class. A `DeserializationError` is named in both, as Spring names its
 * `DeserializationException`. Message and stack trace are the listener's error's own.
 *
 * @param keyError true when the error is the key's deserialization failure: the exception goes to the
 * `kafka_dlt-key-exception-*` headers, as Spring does.
 */
export function deadLetterHeaders(
  record: ConsumedRecord,
  error: Error,
  groupId: string,
  keyError = false,
  options: DeadLetterHeaderOptions = {},
): Record<string, Buffer | Buffer[]> {
  const appendOriginal = options.appendOriginalHeaders ?? true;
  const strip = options.stripPreviousExceptionHeaders ?? true;
  const headers = valuesOf(record);
  if (strip) for (const name of EXCEPTION_HEADERS) headers.delete(name);
  const add = (name: string, value: Buffer, append: boolean) => {
    const previous = headers.get(name);
    if (previous?.length && !append) return;
    headers.set(name, [...(previous ?? []), value]);
  };
  add(DltHeaders.ORIGINAL_TOPIC, Buffer.from(record.topic, 'utf8'), appendOriginal);
  add(DltHeaders.ORIGINAL_PARTITION, int32Bytes(record.partition), appendOriginal);
  add(DltHeaders.ORIGINAL_OFFSET, int64Bytes(record.offset), appendOriginal);
  add(DltHeaders.ORIGINAL_TIMESTAMP, int64Bytes(record.timestamp), appendOriginal);
  add(DltHeaders.ORIGINAL_TIMESTAMP_TYPE, Buffer.from(record.timestampType, 'utf8'), appendOriginal);
  add(DltHeaders.ORIGINAL_CONSUMER_GROUP, Buffer.from(groupId, 'utf8'), appendOriginal);

  const deserialization = error instanceof DeserializationError;
  const thrown = unwrapListenerError(error);
  const fqcn = deserialization ? errorClassName(error) : LISTENER_FAILURE_CLASS;
  add(keyError ? DltHeaders.KEY_EXCEPTION_FQCN : DltHeaders.EXCEPTION_FQCN, Buffer.from(fqcn, 'utf8'), true);
  add(DltHeaders.EXCEPTION_CAUSE_FQCN, Buffer.from(errorClassName(thrown), 'utf8'), true);
  const message = messageOf(error);
  if (message) add(keyError ? DltHeaders.KEY_EXCEPTION_MESSAGE : DltHeaders.EXCEPTION_MESSAGE, Buffer.from(message, 'utf8'), true);
  add(keyError ? DltHeaders.KEY_EXCEPTION_STACKTRACE : DltHeaders.EXCEPTION_STACKTRACE, Buffer.from(stackTraceOf(error), 'utf8'), true);

  const out: Record<string, Buffer | Buffer[]> = {};
  for (const [name, values] of headers) {
    if (values.length > 0) out[name] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

/**
 * The error's message; for a Nest `HttpException` whose response carries the details (`ValidationPipe`'s
 * "Bad Request Exception" with `message: ['amount must be a positive number', ...]`), those details.
 */
function messageOf(error: Error): string {
  const response = (error as { getResponse?: () => unknown }).getResponse?.();
  const details = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : undefined;
  if (Array.isArray(details) && details.length > 0) return `${error.message}: ${details.join('; ')}`;
  if (typeof details === 'string' && details !== error.message) return `${error.message}: ${details}`;
  return error.message;
}
