/**
 * What a listener method is handed besides its payload and context (`ListenerInvocation`: keys, records,
 * the `Acknowledgment`), made lazily: a listener that never asks for keys, records or an ack costs nothing
 * for them. Also `settle`, which waits for what a handler returned.
 */
import { isObservable, lastValueFrom } from 'rxjs';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { Acknowledgment } from '../acknowledgment.js';
import type { ConsumedRecord } from '../consumed-record.js';
import { deserialize, type DeserializerFn } from '../deserializers.js';
import type { ListenerInvocation } from '../kafka-params.factory.js';
import type { OffsetTracker } from './offset-tracker.js';

class RecordAck implements Acknowledgment {
  acknowledged = false;

  constructor(
    private readonly offsets: OffsetTracker,
    private readonly batch: TransportBatch,
    private readonly offset: number,
  ) {}

  acknowledge(): Promise<void> {
    this.acknowledged = true;
    return this.offsets.acknowledged(this.batch, this.offset);
  }
}

/** A key not read yet (its deserializer cannot fail): `Invocation.key` reads it on first use. */
export const UNREAD: unique symbol = Symbol('unread key');

export class Invocation implements ListenerInvocation {
  private ackRef: Acknowledgment | undefined;

  constructor(
    readonly batch: boolean,
    /** The deserialized key (the keys of a batch), or `UNREAD`. */
    private keyRef: unknown,
    /** The record, or what makes the records of a batch (on first use). */
    private readonly what: ConsumedRecord | (() => readonly ConsumedRecord[]),
    private readonly offsets: OffsetTracker,
    private readonly transportBatch: TransportBatch,
    private readonly keyDeserializer: DeserializerFn,
  ) {}

  /** The deserialized key, or the keys of a batch: read when first asked for (`@Key()`), if not yet. */
  get key(): unknown {
    if (this.keyRef === UNREAD) {
      const fn = this.keyDeserializer;
      this.keyRef = this.batch ? this.records.map((r) => deserialize(fn, r, true)) : deserialize(fn, this.what as ConsumedRecord, true);
    }
    return this.keyRef;
  }

  get records(): readonly ConsumedRecord[] {
    return this.batch ? (this.what as () => readonly ConsumedRecord[])() : [this.what as ConsumedRecord];
  }

  /** Made on first use: most listeners never ask for it. */
  get ack(): Acknowledgment {
    const last = this.batch ? this.records.at(-1)! : (this.what as ConsumedRecord);
    return (this.ackRef ??= new RecordAck(this.offsets, this.transportBatch, last.offset));
  }
}

/** Waits for what a handler returned: a promise, an Observable (or a promise of one, from a filter). */
export async function settle(result: unknown): Promise<void> {
  const value = isPromiseLike(result) ? await result : result;
  if (isObservable(value)) await lastValueFrom(value, { defaultValue: undefined });
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}
