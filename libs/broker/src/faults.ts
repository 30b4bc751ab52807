/**
 * Fault injection, in the spirit of franz-go's kfake ControlKey and librdkafka's mock cluster: the next
 * N requests of an API (optionally only those naming one topic, or reaching one node) are answered with an
 * error code, delayed, or have their connection dropped before or after they are handled. This is how client error handling is tested.
 */
import type { ApiKey } from './protocol/api-keys.js';

export interface FaultSpec {
  /** The API whose requests are affected. */
  readonly apiKey: ApiKey | number;
  /** How many matching requests the fault applies to. @default 1 */
  readonly count?: number;
  /** Only requests naming this topic. */
  readonly topic?: string;
  /** Only requests reaching this node. */
  readonly nodeId?: number;
  /**
   * Answer with this Kafka error code in every entry of the response, instead of handling the request. With
   * `topic`, in Produce, Fetch, ListOffsets and Metadata only that topic's entries fail and the rest of the
   * request is handled; other APIs fail the whole request. A request that gets no response (Produce with
   * acks 0) has its connection closed instead, as Kafka does.
   */
  readonly errorCode?: number;
  /**
   * Hold the request this long before answering (or failing) it. If the connection closes meanwhile (the
   * client goes away, or the broker or node stops), the request is not handled at all.
   */
  readonly delayMs?: number;
  /** Close the connection instead of answering: the client sees a dropped connection mid-request. */
  readonly dropConnection?: boolean;
  /**
   * Handle the request, then close the connection instead of answering: the work is done but the client
   * never hears of it (a produce that was written although its acknowledgement was lost).
   */
  readonly dropResponse?: boolean;
}

/** A fault in force. `remaining` counts down as requests hit it. */
export class Fault {
  remaining: number;
  hits = 0;
  private done!: () => void;
  /** Resolves when the fault has hit `count` requests (or was cleared). */
  readonly exhausted = new Promise<void>((resolve) => (this.done = resolve));

  constructor(readonly spec: FaultSpec) {
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`fault count must be a positive integer, got ${count}`);
    if (spec.errorCode === undefined && spec.delayMs === undefined && !spec.dropConnection && !spec.dropResponse) {
      throw new RangeError('a fault needs errorCode, delayMs, dropConnection or dropResponse; give at least one');
    }
    this.remaining = count;
  }

  /** @internal */
  hit(): void {
    this.hits++;
    if (--this.remaining <= 0) this.done();
  }

  /** @internal */
  clear(): void {
    this.remaining = 0;
    this.done();
  }
}

export class FaultInjector {
  private faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const fault = new Fault(spec);
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    for (const f of this.faults) f.clear();
    this.faults = [];
  }

  get active(): boolean {
    return this.faults.length > 0;
  }

  /** The first fault matching the request, counted as hit; undefined when none applies. */
  take(apiKey: number, nodeId: number, topics: () => string[]): Fault | undefined {
    for (const f of this.faults) {
      if (f.spec.apiKey !== apiKey) continue;
      if (f.spec.nodeId !== undefined && f.spec.nodeId !== nodeId) continue;
      if (f.spec.topic !== undefined && !topics().includes(f.spec.topic)) continue;
      f.hit();
      if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
      return f;
    }
    return undefined;
  }
}
