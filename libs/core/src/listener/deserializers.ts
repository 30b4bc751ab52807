import { DeserializationError } from '../kafka.errors.js';
import type { ConsumedRecord } from './consumed-record.js';

/** Turns raw bytes into what the listener receives. Throwing makes it a `DeserializationError`. */
export type DeserializerFn = (data: Buffer, record: ConsumedRecord) => unknown;

/**
 * How keys or values are read: `'json'` (values' default; null/empty stays null), `'string'` (UTF-8,
 * keys' default), `'buffer'` (as consumed) or a function.
 */
export type Deserializer = 'json' | 'string' | 'buffer' | DeserializerFn;

// `toString()` with no argument decodes UTF-8 on Buffer's shortest path (naming the encoding costs a lookup per call).
const json: DeserializerFn = (data) => JSON.parse(data.toString());
const utf8: DeserializerFn = (data) => data.toString();
const raw: DeserializerFn = (data) => data;

export function deserializerFn(d: Deserializer): DeserializerFn {
  if (typeof d === 'function') return d;
  return d === 'json' ? json : d === 'string' ? utf8 : raw;
}

/**
 * Whether `fn` is `'string'` or `'buffer'`: pure and unable to throw, so reading with it can wait until
 * something asks for the result (a key the listener never reads is then never decoded). `'json'` and
 * functions can fail, and a failure must stop the record before the listener: they are read up front.
 */
export function cannotFail(fn: DeserializerFn): boolean {
  return fn === utf8 || fn === raw;
}

/** Reads the key or value of a record; null stays null. Raises `DeserializationError` with the raw bytes. */
export function deserialize(fn: DeserializerFn, record: ConsumedRecord, isKey: boolean): unknown {
  const data = isKey ? record.key : record.value;
  if (data === null) return null;
  if (fn === json && data.length === 0) return null;
  try {
    return fn(data, record);
  } catch (err) {
    throw deserializationError(err, record, data, isKey);
  }
}

/**
 * `deserialize` of the value of record `i` of a batch, without making the record when `fn` is built in (it
 * never looks at the record): a batch listener reading values only then makes a record per fetch, not per value.
 */
export function deserializeValueAt(fn: DeserializerFn, batch: { valueAt(i: number): Buffer | null; recordAt(i: number): ConsumedRecord }, i: number): unknown {
  if (fn !== json && fn !== utf8 && fn !== raw) return deserialize(fn, batch.recordAt(i), false);
  const data = batch.valueAt(i);
  if (data === null) return null;
  if (fn === json && data.length === 0) return null;
  try {
    return fn(data, undefined as never);
  } catch (err) {
    throw deserializationError(err, batch.recordAt(i), data, false);
  }
}

function deserializationError(err: unknown, record: ConsumedRecord, data: Buffer, isKey: boolean): DeserializationError {
  return new DeserializationError(
    `cannot deserialize the ${isKey ? 'key' : 'value'} of ${record.topic}-${record.partition}@${record.offset}: ` +
      `${err instanceof Error ? err.message : String(err)}; fix the producer or set the listener's ` +
      `${isKey ? 'keyDeserializer' : 'deserializer'} ('json', 'string', 'buffer' or a function)`,
    data,
    isKey,
    { cause: err },
  );
}
