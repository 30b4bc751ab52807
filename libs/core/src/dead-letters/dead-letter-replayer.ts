/**
 * Lists, replays and parks the records of a dead-letter topic. Spring Kafka has no counterpart (its issues
 * #2172 and #4523 ask for one); the headers read are Spring's `kafka_dlt-*` headers, so DLTs written by a
 * Spring application can be replayed too.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { topicNameProblem } from '../error-handling/dead-letter-publishing-recoverer.js';
import { KAFKA_MODULE_OPTIONS } from '../kafka.constants.js';
import { KafkaNestError } from '../kafka.errors.js';
import type { KafkaModuleOptions } from '../kafka-module-options.interface.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { KafkaClientOptions, KafkaTransport, TransportAdmin, TransportBatch, TransportProducer } from '../transport/kafka-transport.js';
import { KafkajsTransport } from '../transport/kafkajs.transport.js';
import { allHeaderValues, type DeadLetter, decodeDeadLetter, replayHeaders } from './dead-letter.js';
import { ReplayProgress, MAX_PROGRESS_METADATA } from './replay-progress.js';

/** Settings of the replayer; every one is optional. Also `KafkaModuleOptions.deadLetters`. */
export interface DeadLetterReplaySettings {
  /**
   * A dead letter that has already been replayed this many times (its `kafka-nest_replay-count` header) is
   * parked instead of replayed again, so a record that keeps failing does not loop. @default 3
   */
  readonly maxReplays?: number;
  /** The parking topic of an original topic. @default `<original>.parking` */
  readonly parkingTopic?: (originalTopic: string) => string;
  /**
   * The consumer group whose committed offsets on the DLT record the replay progress. @default
   * `kafka-nest-dlt-replay.<dlt>`
   */
  readonly groupId?: (dltTopic: string) => string;
  /** Suffixes that make a topic a dead-letter topic for `deadLetterTopics()`. @default ['.DLT', '-dlt'] */
  readonly dltSuffixes?: readonly string[];
  /** How long a read of a DLT may go without receiving a record before it fails. @default 30000 ms */
  readonly idleTimeoutMs?: number;
}

/** Options of a standalone `DeadLetterReplayer` (`new DeadLetterReplayer({ client: { brokers } })`). */
export interface DeadLetterReplayerOptions extends DeadLetterReplaySettings {
  /** Where and how to connect. */
  readonly client: KafkaClientOptions;
  /** @default new KafkajsTransport() */
  readonly transport?: KafkaTransport;
}

/** Which dead letters a `replay` or `park` selects; all the given conditions must hold. @default every record */
export interface DeadLetterFilter {
  /** The original partition (`kafka_dlt-original-partition`). */
  readonly originalPartition?: number;
  /** Lowest original offset, inclusive (`kafka_dlt-original-offset`). */
  readonly originalOffsetFrom?: number;
  /** Highest original offset, inclusive. */
  readonly originalOffsetTo?: number;
  /** Dead-lettered at or after this time (the DLT record's timestamp): a `Date` or ms since the epoch. */
  readonly since?: Date | number;
  /** Dead-lettered before this time (exclusive). */
  readonly until?: Date | number;
  /** The exception class (`DeadLetterException.className`: the class the listener threw) or `kafka_dlt-exception-cause-fqcn`, exactly. */
  readonly exceptionClass?: string;
  /** Only these records of the DLT, by partition and offset (the console's per-row actions). */
  readonly records?: readonly { readonly partition: number; readonly offset: number }[];
}

export interface ListDeadLettersOptions {
  readonly dltTopic: string;
  /** Only this DLT partition. @default every partition */
  readonly partition?: number;
  /** First DLT offset to read in each partition. @default the earliest */
  readonly fromOffset?: number;
  /** At most this many records per partition. @default 100 */
  readonly limit?: number;
  /**
   * Only the records the replay group has not handled yet: each partition is read from the group's position,
   * and records handled out of order are left out. @default false (every record, with its `status`)
   */
  readonly pendingOnly?: boolean;
}

export interface ReplayOptions {
  readonly dltTopic: string;
  readonly filter?: DeadLetterFilter;
  /** At most this many records replayed or parked by this run (the next run continues). @default no limit */
  readonly limit?: number;
  /** Say what would be done, without producing or committing anything. @default false */
  readonly dryRun?: boolean;
}

/** What happened (or, in a dry run, would happen) to one dead letter. */
export interface ReplayOutcome {
  readonly partition: number;
  readonly offset: number;
  readonly action: 'replayed' | 'parked' | 'skipped';
  /** Topic it was (or would be) produced to. */
  readonly target?: string;
  /** Why it was skipped or parked. */
  readonly reason?: string;
  readonly exceptionClass?: string;
  readonly replayCount: number;
}

export interface ReplayResult {
  readonly replayed: number;
  readonly parked: number;
  /** Records the filter did not select (or that name no original topic): they stay pending in the DLT. */
  readonly skipped: number;
  readonly dryRun: boolean;
  /** Per record, in DLT order per partition. */
  readonly records: readonly ReplayOutcome[];
}

/** A replay or a list could not be carried out; nothing after the record it names was committed. */
export class DeadLetterReplayError extends KafkaNestError {
  override name = 'DeadLetterReplayError';

  constructor(
    message: string,
    /** The dead-letter topic. */
    readonly dltTopic: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const FILTER_KEYS = new Set(['originalPartition', 'originalOffsetFrom', 'originalOffsetTo', 'since', 'until', 'exceptionClass', 'records']);

function checkInteger(what: string, value: unknown, min: number, dltTopic: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)) {
    throw new DeadLetterReplayError(`${what} must be an integer >= ${min}, got ${JSON.stringify(value)}`, dltTopic);
  }
}

function timeOf(what: string, value: Date | number | undefined, dltTopic: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new DeadLetterReplayError(`filter.${what} must be a Date or ms since the epoch, got ${JSON.stringify(value)}`, dltTopic);
  }
  return ms;
}

/** The filter as a predicate, after checking it: an unknown key or a malformed value is an error naming it. */
function compileFilter(filter: DeadLetterFilter | undefined, dltTopic: string): (letter: DeadLetter) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter !== 'object' || filter === null) {
    throw new DeadLetterReplayError(`filter must be an object such as { exceptionClass: 'TimeoutError' }, got ${JSON.stringify(filter)}`, dltTopic);
  }
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.has(key)) throw new DeadLetterReplayError(`filter has an unknown key '${key}'; known keys: ${[...FILTER_KEYS].join(', ')}`, dltTopic);
  }
  checkInteger('filter.originalPartition', filter.originalPartition, 0, dltTopic);
  checkInteger('filter.originalOffsetFrom', filter.originalOffsetFrom, 0, dltTopic);
  checkInteger('filter.originalOffsetTo', filter.originalOffsetTo, 0, dltTopic);
  const since = timeOf('since', filter.since, dltTopic);
  const until = timeOf('until', filter.until, dltTopic);
  if (filter.exceptionClass !== undefined && (typeof filter.exceptionClass !== 'string' || !filter.exceptionClass)) {
    throw new DeadLetterReplayError(`filter.exceptionClass must be a class name such as 'FraudCheckFailedError', got ${JSON.stringify(filter.exceptionClass)}`, dltTopic);
  }
  let records: Set<string> | undefined;
  if (filter.records !== undefined) {
    if (!Array.isArray(filter.records)) throw new DeadLetterReplayError('filter.records must be an array of { partition, offset }', dltTopic);
    records = new Set();
    for (const r of filter.records) {
      checkInteger('filter.records[].partition', r?.partition, 0, dltTopic);
      checkInteger('filter.records[].offset', r?.offset, 0, dltTopic);
      if (r?.partition === undefined || r.offset === undefined) throw new DeadLetterReplayError('filter.records entries need both partition and offset', dltTopic);
      records.add(`${r.partition}@${r.offset}`);
    }
  }
  return (l) => {
    const o = l.original;
    if (filter.originalPartition !== undefined && o.partition !== filter.originalPartition) return false;
    if (filter.originalOffsetFrom !== undefined && !(o.offset !== undefined && o.offset >= filter.originalOffsetFrom)) return false;
    if (filter.originalOffsetTo !== undefined && !(o.offset !== undefined && o.offset <= filter.originalOffsetTo)) return false;
    if (since !== undefined && l.timestamp < since) return false;
    if (until !== undefined && l.timestamp >= until) return false;
    if (filter.exceptionClass !== undefined && l.exception.className !== filter.exceptionClass && l.exception.causeClassName !== filter.exceptionClass) return false;
    if (records && !records.has(`${l.partition}@${l.offset}`)) return false;
    return true;
  };
}

/** What `read` hands each record to; 'stop' ends the read. */
type RecordVisitor = (record: ConsumedRecord, batch: TransportBatch) => Promise<'continue' | 'stop'>;

/**
 * Works on dead-letter topics: `list` reads and decodes them, `replay` produces their records back to
 * the topics they failed on, `park` moves them to a parking topic for human review.
 *
 * **Progress and guarantees.** `replay` and `park` handle the records of each DLT partition in order, one at
 * a time: each record is produced (acks = all, idempotent producer) and only then is its DLT offset committed
 * by the replay group (`kafka-nest-dlt-replay.<dlt>`). A second run starts after the last commit, so it
 * replays nothing already handled; a run killed half-way resumes where it stopped, and the one record in
 * flight when it died (produced, its commit not yet done) is replayed one extra time: **at most one extra
 * replay per interrupted run**. Records a filter leaves out stay pending for later runs: the committed offset
 * stops before the first of them, and the records handled after it are listed in the commit's metadata.
 *
 * **Parking.** A dead letter whose `kafka-nest_replay-count` header says it was already replayed
 * `maxReplays` times (it failed again each time) is produced to `<original>.parking` instead.
 *
 * Inject it (`KafkaModule` provides it, with the module's client), or make one:
 * `new DeadLetterReplayer({ client: { brokers: ['localhost:9092'] } })`. Each call connects its own clients
 * and closes them before it returns. Calls on the same DLT from one replayer run one after another.
 */
@Injectable()
export class DeadLetterReplayer {
  private readonly logger = new Logger(DeadLetterReplayer.name);
  private readonly client: KafkaClientOptions;
  private readonly transport: KafkaTransport;
  /** @default 3 */
  readonly maxReplays: number;
  private readonly parkingTopicOf: (originalTopic: string) => string;
  private readonly groupIdOf: (dltTopic: string) => string;
  private readonly dltSuffixes: readonly string[];
  private readonly idleTimeoutMs: number;
  /** Per DLT, the end of the last call queued on it. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(@Optional() @Inject(KAFKA_MODULE_OPTIONS) options: DeadLetterReplayerOptions | KafkaModuleOptions) {
    if (!options?.client || !Array.isArray(options.client.brokers) || options.client.brokers.length === 0) {
      throw new DeadLetterReplayError(
        "DeadLetterReplayer needs a client with brokers: new DeadLetterReplayer({ client: { brokers: ['host:9092'] } }), or inject it from KafkaModule",
        '',
      );
    }
    const settings: DeadLetterReplaySettings = 'deadLetters' in options ? (options.deadLetters ?? {}) : (options as DeadLetterReplayerOptions);
    this.client = options.client;
    this.transport = options.transport ?? new KafkajsTransport();
    this.maxReplays = settings.maxReplays ?? 3;
    checkInteger('DeadLetterReplayer: maxReplays', this.maxReplays, 0, '');
    this.parkingTopicOf = settings.parkingTopic ?? ((t) => `${t}.parking`);
    this.groupIdOf = settings.groupId ?? ((t) => `kafka-nest-dlt-replay.${t}`);
    this.dltSuffixes = settings.dltSuffixes ?? ['.DLT', '-dlt'];
    this.idleTimeoutMs = settings.idleTimeoutMs ?? 30_000;
    checkInteger('DeadLetterReplayer: idleTimeoutMs', this.idleTimeoutMs, 1, '');
  }

  /** The consumer group that records the replay progress on `dltTopic`. */
  replayGroupOf(dltTopic: string): string {
    return this.groupIdOf(dltTopic);
  }

  /** The parking topic of records that failed on `originalTopic`. */
  parkingTopicFor(originalTopic: string): string {
    return this.parkingTopicOf(originalTopic);
  }

  /** Topics whose name ends with one of the `dltSuffixes`, sorted. */
  async deadLetterTopics(): Promise<string[]> {
    return this.withAdmin(async (admin) => (await admin.listTopics()).filter((t) => this.dltSuffixes.some((s) => t.endsWith(s) && t.length > s.length)).sort());
  }

  /**
   * The dead letters of `dltTopic`, by partition then offset, decoded; `status` says whether the replay group
   * already handled each one.
   */
  async list(options: ListDeadLettersOptions): Promise<DeadLetter[]> {
    const { dltTopic, partition, fromOffset, limit = 100, pendingOnly = false } = options;
    this.checkTopic(dltTopic);
    checkInteger('list: partition', partition, 0, dltTopic);
    checkInteger('list: fromOffset', fromOffset, 0, dltTopic);
    checkInteger('list: limit', limit, 1, dltTopic);
    return this.queued(dltTopic, async () => {
      const { ends, progress } = await this.state(dltTopic);
      const start = new Map<number, number>();
      const end = new Map<number, number>();
      for (const [p, e] of ends) {
        if (partition !== undefined && p !== partition) continue;
        const from = Math.max(fromOffset ?? 0, e.start, pendingOnly ? progress.get(p)!.position : 0);
        if (from < e.end) {
          start.set(p, from);
          end.set(p, Math.min(e.end, from + limit));
        }
      }
      if (partition !== undefined && !ends.has(partition)) {
        throw new DeadLetterReplayError(`'${dltTopic}' has no partition ${partition}; it has ${ends.size} (0..${ends.size - 1})`, dltTopic);
      }
      const letters: DeadLetter[] = [];
      await this.read(dltTopic, `kafka-nest-dlt-browse-${randomUUID()}`, start, end, async (record) => {
        const done = progress.get(record.partition)?.isDone(record.offset) === true;
        if (!(pendingOnly && done)) letters.push(decodeDeadLetter(record, done ? 'done' : 'pending'));
        return 'continue';
      });
      return letters.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    });
  }

  /**
   * Produces the selected dead letters back to their original topic and partition (same key, value and
   * headers; the `kafka_dlt-*` and `retry_topic-*` headers dropped; `kafka-nest_replay-count` and `kafka-nest_replayed-from`
   * set), in DLT order per partition, committing the progress after each. A dead letter already replayed
   * `maxReplays` times is parked instead.
   */
  replay(options: ReplayOptions): Promise<ReplayResult> {
    return this.handle('replay', options);
  }

  /** As `replay`, but every selected dead letter goes to its parking topic. */
  park(options: ReplayOptions): Promise<ReplayResult> {
    return this.handle('park', options);
  }

  private async handle(mode: 'replay' | 'park', options: ReplayOptions): Promise<ReplayResult> {
    const { dltTopic, limit, dryRun = false } = options;
    this.checkTopic(dltTopic);
    checkInteger(`${mode}: limit`, limit, 1, dltTopic);
    const selected = compileFilter(options.filter, dltTopic);
    return this.queued(dltTopic, () =>
      this.withAdmin(async (admin) => {
        const { ends, progress } = await this.state(dltTopic, admin);
        const start = new Map<number, number>();
        const end = new Map<number, number>();
        for (const [p, e] of ends) {
          const from = progress.get(p)!.position;
          if (from < e.end) {
            start.set(p, from);
            end.set(p, e.end);
          }
        }
        const outcomes: ReplayOutcome[] = [];
        const counts = { replayed: 0, parked: 0, skipped: 0 };
        if (start.size === 0) return { ...counts, dryRun, records: outcomes };

        const producer = dryRun ? undefined : this.transport.createProducer(this.client, { acks: -1, idempotent: true, allowAutoTopicCreation: false });
        await producer?.connect();
        const blocked = new Set<number>();
        const partitionCounts = new Map<string, number | undefined>();
        const created = new Set<string>();
        const countOf = async (topic: string) => {
          if (!partitionCounts.has(topic)) partitionCounts.set(topic, await admin.partitionCount(topic));
          return partitionCounts.get(topic);
        };
        const commit = (batch: TransportBatch, p: number) => {
          const prog = progress.get(p)!;
          return batch.commit([{ topic: dltTopic, partition: p, offset: prog.position, metadata: prog.metadata() }]);
        };
        try {
          await this.read(dltTopic, dryRun ? `kafka-nest-dlt-browse-${randomUUID()}` : this.groupIdOf(dltTopic), start, end, async (record, batch) => {
            const p = record.partition;
            const prog = progress.get(p)!;
            if (prog.isDone(record.offset)) {
              // Handled by an earlier, filtered run.
              if (!dryRun && !blocked.has(p)) {
                prog.markDone(record.offset, true);
                await commit(batch, p);
              }
              return 'continue';
            }
            if (limit !== undefined && counts.replayed + counts.parked >= limit) return 'stop';
            const letter = decodeDeadLetter(record);
            const base = { partition: p, offset: record.offset, replayCount: letter.replayCount, ...(letter.exception.className && { exceptionClass: letter.exception.className }) };
            const original = letter.original.topic;
            if (!selected(letter) || !original) {
              blocked.add(p);
              counts.skipped++;
              outcomes.push({ ...base, action: 'skipped', reason: original ? 'not selected by the filter' : 'no kafka_dlt-original-topic header' });
              return 'continue';
            }
            const parkIt = mode === 'park' || letter.replayCount >= this.maxReplays;
            const target = parkIt ? this.parkingTopicOf(original) : original;
            const reason = mode === 'park' ? 'parked on request' : parkIt ? `replayed ${letter.replayCount} time(s) already (maxReplays ${this.maxReplays})` : undefined;
            const targetCount = await countOf(original);
            if (!parkIt && targetCount === undefined) {
              throw new DeadLetterReplayError(
                `${dltTopic}-${p}@${record.offset} failed on '${original}', which does not exist; create it, or park the record (park --records ${p}@${record.offset})`,
                dltTopic,
              );
            }
            if (producer) {
              if (blocked.has(p) && !prog.fitsWith(record.offset)) {
                throw new DeadLetterReplayError(
                  `${dltTopic}-${p}: too many records handled after the first pending one to record in the commit metadata (${MAX_PROGRESS_METADATA} bytes); ` +
                    'replay or park the pending records first (e.g. a run without a filter), or narrow the filter',
                  dltTopic,
                );
              }
              if (parkIt && !created.has(target)) {
                await admin.createTopics([{ topic: target, numPartitions: targetCount ?? 1 }]);
                created.add(target);
              }
              await this.produce(producer, letter, record, target, parkIt, targetCount);
              prog.markDone(record.offset, !blocked.has(p));
              await commit(batch, p);
            }
            if (parkIt) counts.parked++;
            else counts.replayed++;
            outcomes.push({ ...base, action: parkIt ? 'parked' : 'replayed', target, ...(reason && { reason }) });
            return 'continue';
          });
        } finally {
          await producer?.disconnect().catch(() => undefined);
        }
        if (!dryRun && (counts.replayed || counts.parked)) {
          this.logger.log(`${dltTopic}: replayed ${counts.replayed}, parked ${counts.parked}, skipped ${counts.skipped}`);
        }
        return { ...counts, dryRun, records: outcomes };
      }),
    );
  }

  private async produce(
    producer: TransportProducer,
    letter: DeadLetter,
    record: ConsumedRecord,
    target: string,
    park: boolean,
    targetCount: number | undefined,
  ): Promise<void> {
    const partition = letter.original.partition;
    const samePartition = !park && partition !== undefined && targetCount !== undefined && partition < targetCount;
    // Every value of each header: a parked record keeps its whole dead-letter history (kafka_dlt-original-*
    // appended on each dead-lettering), a replayed one the user's repeated headers.
    const headers = park ? allHeaderValues(record) : replayHeaders(letter, record);
    await producer.send(target, [{ key: record.key, value: record.value, headers, ...(samePartition && { partition }) }], { acks: -1 });
  }

  /** End offsets of the DLT and the replay group's progress per partition. */
  private async state(dltTopic: string, admin?: TransportAdmin) {
    const run = async (a: TransportAdmin) => {
      if ((await a.partitionCount(dltTopic)) === undefined) {
        throw new DeadLetterReplayError(`dead-letter topic '${dltTopic}' does not exist; list the topics with deadLetterTopics() (CLI: kafka-nest dlt topics)`, dltTopic);
      }
      const ends = new Map<number, { start: number; end: number }>();
      for (const e of await a.endOffsets(dltTopic)) ends.set(e.partition, { start: e.start ?? 0, end: e.offset });
      const committed = await a.committedOffsets(this.groupIdOf(dltTopic), [dltTopic]);
      const progress = new Map<number, ReplayProgress>();
      for (const [p, e] of ends) {
        const c = committed.find((o) => o.partition === p);
        progress.set(p, ReplayProgress.fromCommit(c?.offset ?? -1, c?.metadata, e.start));
      }
      return { ends, progress };
    };
    return admin ? run(admin) : this.withAdmin(run);
  }

  /**
   * Reads `[start, end)` of each partition with a consumer of `groupId`, handing each record to `visit` in
   * offset order, one partition at a time. Resolves once every partition reached its end or `visit` said stop.
   */
  private async read(dltTopic: string, groupId: string, start: Map<number, number>, end: Map<number, number>, visit: RecordVisitor): Promise<void> {
    if (start.size === 0) return;
    const consumer = this.transport.createConsumer(this.client, {
      groupId,
      // Kafka's smallest default session: a replay killed half-way holds its group for at most 6 s.
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 30_000,
    });
    const next = new Map(start);
    const sought = new Set<number>();
    let finish!: (error?: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    let over = false;
    const end_ = (error?: unknown) => {
      if (over) return;
      over = true;
      finish(error);
    };
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        const left = [...next].filter(([p, o]) => o < end.get(p)!).map(([p, o]) => `${p}@${o} (end ${end.get(p)})`);
        end_(new DeadLetterReplayError(`reading '${dltTopic}' received no record for ${this.idleTimeoutMs} ms; still to read: ${left.join(', ')}`, dltTopic));
      }, this.idleTimeoutMs);
    };
    consumer.onFatalError((e) => end_(new DeadLetterReplayError(`the consumer reading '${dltTopic}' failed: ${e.message}`, dltTopic, { cause: e })));
    try {
      touch();
      await consumer.connect();
      await consumer.subscribe([dltTopic], true);
      await consumer.run({
        partitionsConsumedConcurrently: 1,
        eachBatch: async (batch) => {
          const p = batch.partition;
          const stop = end.get(p);
          if (over || stop === undefined || next.get(p)! >= stop) return;
          touch();
          for (let i = 0; i < batch.size && !over; i++) {
            if (!batch.isRunning() || batch.isStale()) return;
            const record = batch.recordAt(i);
            const want = next.get(p)!;
            if (record.offset < want) {
              if (!sought.has(p)) {
                sought.add(p);
                consumer.seek(dltTopic, p, want);
                return;
              }
              continue;
            }
            if (record.offset >= stop) break;
            let verdict: 'continue' | 'stop';
            try {
              verdict = await visit(record, batch);
            } catch (error) {
              end_(error);
              return;
            }
            if (verdict === 'stop') {
              end_();
              return;
            }
            next.set(p, record.offset + 1);
            batch.resolveOffset(record.offset);
            // Each record may take a produce and a commit: keep the membership alive through a long batch.
            await batch.heartbeat().catch((e) => this.logger.debug(`heartbeat: ${String(e)}`));
          }
          if ([...next].every(([q, o]) => o >= end.get(q)!)) end_();
        },
      });
      await finished;
    } finally {
      clearTimeout(idle);
      await consumer.disconnect().catch((e) => this.logger.debug(`disconnect: ${String(e)}`));
    }
  }

  private checkTopic(dltTopic: string): void {
    const problem = topicNameProblem(dltTopic);
    if (problem) throw new DeadLetterReplayError(`dltTopic: ${problem}; give the dead-letter topic, e.g. 'orders.DLT'`, String(dltTopic));
  }

  private async withAdmin<T>(task: (admin: TransportAdmin) => Promise<T>): Promise<T> {
    const admin = this.transport.createAdmin(this.client);
    await admin.connect();
    try {
      return await task(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private queued<T>(dltTopic: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(dltTopic) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.queues.set(dltTopic, tail);
    void tail.then(() => {
      if (this.queues.get(dltTopic) === tail) this.queues.delete(dltTopic);
    });
    return run;
  }
}
