import { DeserializationError } from '../kafka.errors.js';
import type { ConsumedRecord } from './consumed-record.js';

/** Turns raw bytes into what the listener receives. Throwing makes it a `DeserializationError`. */
export type DeserializerFn = (data: Buffer, record: ConsumedRecord) => unknown;

/**
 * How keys or values are read: `'json'` (values' default; null/empty stays null), `'string'` (UTF-8,
 * keys' default), `'buffer'` (as consumed) or a function.
 */
export type Deserializer = 'json' | 'string' | 'buffer' | DeserializerFn;

const json: DeserializerFn = (data) => JSON.parse(data.toString('utf8'));
const utf8: DeserializerFn = (data) => data.toString('utf8');
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
    const what = isKey ? 'key' : 'value';
    throw new DeserializationError(
      `cannot deserialize the ${what} of ${record.topic}-${record.partition}@${record.offset}: ` +
        `${err instanceof Error ? err.message : String(err)}; fix the producer or set the listener's ` +
        `${isKey ? 'keyDeserializer' : 'deserializer'} ('json', 'string', 'buffer' or a function)`,
      data,
      isKey,
      { cause: err },
    );
  }
}
