/**
 * Keeps a consumer alive in its group while handlers run, and says when one runs too long.
 *
 * kafkajs heartbeats only when asked, and nothing asks while a handler runs (Java's consumer has a thread
 * for it). So each fetch in hand is tracked as `Busy` (the record or chunk in the handler, and since when):
 * a timer heartbeats while it is busy, the fetch loop heartbeats between records, and a watchdog warns once
 * a record has been in the handler longer than `max.poll.interval.ms`. A heartbeat or commit that finds the
 * member's generation over marks the fetch `fenced`: its loop ends after the record in hand.
 */
import type { Logger } from '@nestjs/common';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { ConsumedRecord } from '../consumed-record.js';

/** Kafka errors telling a member its generation is over: it must rejoin, and its partitions may move. */
const FENCING_ERRORS: ReadonlySet<unknown> = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
export const isFencing = (err: unknown): boolean => FENCING_ERRORS.has((err as { type?: unknown } | null)?.type);

/** One fetch in hand: the record (or first record of the chunk) in the handler, for the watchdog and the heartbeats meanwhile. */
export class Busy {
  record: ConsumedRecord | null = null;
  since = 0;
  warned = false;
  /** A heartbeat or commit found the member's generation over: the loop ends after the record in hand. */
  fenced: Error | undefined = undefined;
  /** When the fetch loop next asks for a heartbeat between records. */
  private nextBeat = 0;
  /** @internal the heartbeat timer while a handler runs; set by `Liveness.track`. */
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(private readonly beatEveryMs: number) {}

  /** `record` goes into the handler now. */
  begin(record: ConsumedRecord): void {
    this.record = record;
    this.since = Date.now();
    this.warned = false;
  }

  /** The handler is done with the record in hand. */
  end(): void {
    this.record = null;
  }

  /**
   * Whether the fetch loop should ask for a heartbeat now: a few times per heartbeat interval is enough, as
   * kafkajs sends one only once its interval has passed.
   */
  beatDue(): boolean {
    const now = Date.now();
    if (now < this.nextBeat) return false;
    this.nextBeat = now + this.beatEveryMs;
    return true;
  }
}

export class Liveness {
  private readonly busy = new Set<Busy>();
  private watchdog: NodeJS.Timeout | undefined;
  /** How often a busy fetch asks for a heartbeat: a quarter of `heartbeat.interval.ms`. */
  private readonly beatEveryMs: number;

  constructor(
    private readonly maxPollIntervalMs: number,
    heartbeatIntervalMs: number,
    private readonly describe: string,
    private readonly logger: Logger,
  ) {
    this.beatEveryMs = Math.max(1, Math.floor(heartbeatIntervalMs / 4));
  }

  /**
   * Starts tracking a fetch. While a record (or chunk) of it is in the handler, a timer asks every
   * `beatEveryMs`, and kafkajs sends one per `heartbeat.interval.ms`; for each record only until
   * `max.poll.interval.ms` has passed, after which the session times out and the member is removed, as a
   * Java consumer leaves the group. The timer is unreferenced and fires only in loops that last longer than
   * its period, so fast batches never run it. `release` ends it.
   */
  track(b: TransportBatch): Busy {
    const busy = new Busy(this.beatEveryMs);
    this.busy.add(busy);
    const limit = this.maxPollIntervalMs;
    busy.timer = setInterval(() => {
      if (!busy.record || busy.fenced || Date.now() - busy.since > limit) return;
      b.heartbeat().catch((err: unknown) => {
        if (isFencing(err)) busy.fenced = err as Error;
        else this.logger.debug(`heartbeat during a handler failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }, this.beatEveryMs);
    busy.timer.unref();
    return busy;
  }

  /** The fetch's loop ended. */
  release(busy: Busy): void {
    clearInterval(busy.timer);
    this.busy.delete(busy);
  }

  /** Starts the `max.poll.interval.ms` watchdog: it checks a few times per interval (20 ms to 1 s). */
  startWatchdog(): void {
    const interval = Math.max(20, Math.min(1_000, Math.floor(this.maxPollIntervalMs / 4)));
    this.watchdog = setInterval(() => this.checkBusy(), interval);
    this.watchdog.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** The records in the handlers now, as `topic-partition@offset`. */
  inFlight(): string[] {
    return [...this.busy].flatMap((b) => (b.record ? [`${b.record.topic}-${b.record.partition}@${b.record.offset}`] : []));
  }

  private checkBusy(): void {
    const limit = this.maxPollIntervalMs;
    const now = Date.now();
    for (const b of this.busy) {
      if (!b.record || b.warned || now - b.since <= limit) continue;
      b.warned = true;
      const message =
        `${this.describe} has been handling ${b.record.topic}-${b.record.partition}@${b.record.offset} for ${now - b.since} ms, ` +
        `longer than max.poll.interval.ms (${limit}); a Java consumer would leave the group here. Make the handler faster, hand the work off, or raise 'max.poll.interval.ms'`;
      this.logger.warn(message);
      process.emitWarning(message, { code: 'KAFKA_NEST_MAX_POLL_INTERVAL_EXCEEDED' });
    }
  }
}
