// Value and key deserializers, and the DeserializationError they raise.
import { describe, expect, it } from 'vitest';
import { DeserializationError } from '@kafka-nest/core';
import type { ConsumedRecord } from '@kafka-nest/core';
import { deserialize, deserializerFn } from '../../../libs/core/src/listener/deserializers.js';

const record = (value: Buffer | null, key: Buffer | null = null): ConsumedRecord => ({
  topic: 't', partition: 0, offset: 5, timestamp: 0, timestampType: 'CreateTime', key, value, headers: {},
});

describe('deserializers', () => {
  it('json parses, keeps null and empty values as null', () => {
    const json = deserializerFn('json');
    expect(deserialize(json, record(Buffer.from('{"a":1}')), false)).toEqual({ a: 1 });
    expect(deserialize(json, record(null), false)).toBeNull();
    expect(deserialize(json, record(Buffer.alloc(0)), false)).toBeNull();
  });

  it('string, buffer and functions', () => {
    expect(deserialize(deserializerFn('string'), record(null, Buffer.from('k')), true)).toBe('k');
    expect(deserialize(deserializerFn('buffer'), record(Buffer.from([1])), false)).toEqual(Buffer.from([1]));
    expect(deserialize(deserializerFn((d, r) => `${r.offset}:${d.length}`), record(Buffer.from('abc')), false)).toBe('5:3');
  });

  it('a failure raises DeserializationError with the raw bytes and the fix', () => {
    let err: unknown;
    try {
      deserialize(deserializerFn('json'), record(null, Buffer.from('{')), true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeserializationError);
    const e = err as DeserializationError;
    expect(e.data).toEqual(Buffer.from('{'));
    expect(e.isKey).toBe(true);
    expect(e.cause).toBeInstanceOf(SyntaxError);
    expect(e.message).toMatch(/^cannot deserialize the key of t-0@5: .*; fix the producer or set the listener's keyDeserializer \('json', 'string', 'buffer' or a function\)$/);
  });
});
