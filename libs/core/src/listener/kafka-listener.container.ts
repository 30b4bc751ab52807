/**
 * The container of one `@KafkaListener`: `concurrency` consumers of one group, each running the fetch
 * loop of the transport. Mirrors Spring Kafka's `ConcurrentMessageListenerContainer`.
 *
 * Records of one partition are handled one at a time in offset order; partitions proceed in parallel.
 * Offsets are resolved (fetch position) and committed by the container only, never before the record was
 * processed or recovered. Retries follow the `CommonErrorHandler` contract: a retry with a delay pauses the
 * partition, seeks back to the failed record and resumes after the delay (no sleeping in the fetch loop);
 * a retry without a delay delivers the record again after one turn of the event loop (deliberate difference:
 * Spring seeks and polls again, which has the same effect at more cost).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import type { CommonErrorHandler, ErrorHandlingResult, ListenerFailureContext } from '../error-handling/common-error-handler.js';
import { KafkaNestError, ListenerExecutionFailedError } from '../kafka.errors.js';
import { defaultStartupTimeoutMs, NotAdmittedError, startUntilAdmitted } from './group-admission.js';
import type { TopicPartitions, TransportAdmin, TransportBatch, TransportConsumer } from '../transport/kafka-transport.js';
import { AckMode } from './ack-mode.js';
import type { Acknowledgment } from './acknowledgment.js';
import type { ConsumedRecord } from './consumed-record.js';
import { cannotFail, deserialize, deserializeValueAt, type DeserializerFn } from './deserializers.js';
import { KafkaBatchContext, KafkaContext } from './kafka-context.js';
import type { ListenerInvocation } from './kafka-params.factory.js';
import type { ContainerEnvironment, ListenerEndpoint } from './listener-endpoint.js';
import type { KafkaObserver, ListenerEvent } from '../metrics/kafka-observer.js';
import type { MessageListenerContainer, PartitionLag } from './message-listener-container.js';

/** Partitions one consumer processes at the same time (kafkajs `partitionsConsumedConcurrently`). */
const PARTITIONS_IN_PARALLEL = 64;

/** The longest delay a Node timer takes (2^31-1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Back-off before replacing a crashed consumer: doubles from the first value up to the last. */
const CRASH_RESTART_FIRST_MS = 1_000;
const CRASH_RESTART_MAX_MS = 30_000;
/** A consumer that ran this long before crashing starts the back-off over; one crashing sooner doubles it. */
const CRASH_STABLE_MS = 60_000;

/** What became of a record (or of the records of a batch invocation). */
const enum Outcome {
  /** Processed or recovered: resolve and commit per the ack mode. */
  DONE,
  /** Retry at once: deliver the same record again. */
  AGAIN,
  /** Leave the rest of this fetch: a back-off was scheduled, the container stops, or it is stopping. */
  HALT,
  /** Recovered by an error handler whose `isAckAfterHandle()` is false: go on, but commit nothing for it. */
  RECOVERED,
}

interface Child {
  readonly index: number;
  readonly consumer: TransportConsumer;
  /** Partitions paused for a retry back-off, with the timer that resumes them. */
  readonly backoffs: Map<string, NodeJS.Timeout>;
}

/** What a batch listener invocation did: `advance` records done; `complete` >= 0: resolve and commit up to that offset. */
interface BatchStep {
  readonly advance: number;
  readonly outcome: Outcome;
  readonly complete: number;
}

/** The record a partition is busy with, for the `max.poll.interval.ms` watchdog and the heartbeats meanwhile. */
interface Busy {
  record: ConsumedRecord | null;
  since: number;
  warned: boolean;
  /** A heartbeat or commit found the member's generation over: the loop ends after the record in hand. */
  fenced: Error | undefined;
}

/** Kafka errors telling a member its generation is over: it must rejoin, and its partitions may move. */
const FENCING_ERRORS: ReadonlySet<unknown> = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);
const isFencing = (err: unknown): boolean => FENCING_ERRORS.has((err as { type?: unknown } | null)?.type);

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

class RecordAck implements Acknowledgment {
  acknowledged = false;

  constructor(
    private readonly container: KafkaListenerContainer,
    private readonly batch: TransportBatch,
    private readonly offset: number,
  ) {}

  acknowledge(): Promise<void> {
    this.acknowledged = true;
    return this.container.acknowledged(this.batch, this.offset);
  }
}

/** A key not read yet (its deserializer cannot fail): `Invocation.key` reads it on first use. */
const UNREAD: unique symbol = Symbol('unread key');

class Invocation implements ListenerInvocation {
  private ackRef: Acknowledgment | undefined;

  constructor(
    readonly batch: boolean,
    /** The deserialized key (the keys of a batch), or `UNREAD`. */
    private keyRef: unknown,
    /** The record, or what makes the records of a batch (on first use). */
    private readonly what: ConsumedRecord | (() => readonly ConsumedRecord[]),
    private readonly container: KafkaListenerContainer,
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
    return (this.ackRef ??= new RecordAck(this.container, this.transportBatch, last.offset));
  }
}

export class KafkaListenerContainer implements MessageListenerContainer {
  readonly id: string;
  readonly groupId: string;
  readonly listener: string;

  private readonly logger: Logger;
  private readonly failureContext: ListenerFailureContext;
  private readonly errorHandler: CommonErrorHandler;
  private readonly maxPollRecords: number;
  private readonly beatEveryMs: number;
  /** Keys are read when the listener asks for them, not up front: their deserializer cannot fail. */
  private readonly keysOnDemand: boolean;
  private children: Child[] = [];
  /** Back-offs before replacing crashed consumers; ended early by `stop()`. */
  private readonly pendingRestarts = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Replacement consumers: the crashes in a row that preceded each, and when it was made. */
  private readonly replacements = new WeakMap<Child, { crashes: number; since: number }>();
  private running = false;
  private paused = false;
  /** The start in progress: `stop()` waits for it, then tears down what it made. */
  private starting: Promise<void> | undefined;
  /** The stop in progress: every caller of `stop()` gets it, so none returns before the handlers drained. */
  private stopping: Promise<void> | undefined;
  private admin: Promise<TransportAdmin> | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly busy = new Set<Busy>();
  /**
   * Partitions whose last delivery failed. `recordSucceeded` is called for a success on one of them only:
   * the error handler tracks failures it was told of, so there is nothing to forget elsewhere, and the
   * per-record call is saved.
   */
  private readonly failing = new Set<string>();
  /** MANUAL mode: highest acknowledged offset + 1 per partition, not yet committed. */
  private readonly acks = new Map<string, { batch: TransportBatch; offset: number }>();

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly env: ContainerEnvironment,
  ) {
    this.id = endpoint.id;
    this.groupId = endpoint.groupId;
    this.listener = endpoint.listener;
    this.logger = new Logger(`KafkaListener ${endpoint.id}`);
    this.failureContext = { listenerId: endpoint.id, groupId: endpoint.groupId };
    this.errorHandler = endpoint.errorHandler;
    this.maxPollRecords = endpoint.properties.maxPollRecords;
    this.keysOnDemand = cannotFail(endpoint.keyDeserializer);
    this.beatEveryMs = Math.max(1, Math.floor(endpoint.properties.consumer.heartbeatIntervalMs / 4));
  }

  /** Whether the container starts with the application. */
  get autoStartup(): boolean {
    return this.endpoint.autoStartup;
  }

  isRunning(): boolean {
    return this.running;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Resolves once every consumer joined the group; a stop in progress finishes first. */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.stopping) return this.stopping.then(() => this.start());
    if (this.running) return Promise.resolve();
    // Set before the first await, so that a stop() right after this call is seen.
    this.running = true;
    this.paused = false;
    return (this.starting = this.startContainer().finally(() => (this.starting = undefined)));
  }

  private async startContainer(): Promise<void> {
    const { endpoint } = this;
    try {
      await this.createErrorHandlerTopics();
    } catch (err) {
      this.running = false;
      await this.tearDown();
      throw err;
    }
    // A stop() meanwhile: make no consumers (it waits for this start, then tears down what exists).
    if (!this.running) return;
    this.children = Array.from({ length: endpoint.concurrency }, (_, index) => this.createChild(index));
    try {
      await Promise.all(this.children.map((child) => this.admit(child)));
    } catch (err) {
      this.running = false;
      await this.tearDown();
      throw new KafkaNestError(`listener '${this.id}' (${this.listener}) could not start: ${this.startupProblem(err)}`, { cause: err });
    }
    if (!this.running) return;
    const interval = Math.max(20, Math.min(1_000, Math.floor(endpoint.properties.maxPollIntervalMs / 4)));
    this.watchdog = setInterval(() => this.checkBusy(), interval);
    this.watchdog.unref();
    this.logger.log(
      `started: group '${this.groupId}', ${endpoint.topicPattern ? `pattern ${endpoint.topicPattern}` : `topics ${this.subscription.join(', ')}`}, ${endpoint.concurrency} consumer(s), ack mode ${endpoint.ackMode}`,
    );
    if (endpoint.concurrency > 1) void this.warnIfIdleConsumers();
  }

  /** Starts a consumer, retrying while its group does not admit it yet (see `group-admission.ts`). */
  private admit(first: Child): Promise<void> {
    let child = first;
    const { sessionTimeoutMs } = this.endpoint.properties.consumer;
    const timeoutMs = this.env.startupTimeoutMs ?? defaultStartupTimeoutMs(sessionTimeoutMs);
    return startUntilAdmitted({
      start: () => this.runChild(child),
      replace: async () => {
        await child.consumer.disconnect().catch(() => undefined);
        const at = this.children.indexOf(child);
        if (at < 0) return; // torn down meanwhile (a stop): nothing more is made
        child = this.children[at] = this.createChild(child.index);
      },
      wanted: () => this.running,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          const wait = { timer: setTimeout(() => this.pendingRestarts.delete(wait) && resolve(), ms), resolve };
          this.pendingRestarts.add(wait);
        }),
      waiting: (reason, attempt) => {
        const line =
          `consumer ${child.index} of listener '${this.id}' is waiting for group '${this.groupId}' to admit it (${reason}); ` +
          `after a crash, the previous instance's members keep their places until their session times out ` +
          `(session.timeout.ms ${sessionTimeoutMs}); retrying for up to ${timeoutMs} ms ('startupTimeoutMs')`;
        if (attempt === 1) this.logger.warn(line);
        else this.logger.debug(line);
      },
      timeoutMs,
    });
  }

  /** Why a consumer could not connect, subscribe or join, and what to do about it. */
  private startupProblem(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof NotAdmittedError) {
      const session = this.endpoint.properties.consumer.sessionTimeoutMs;
      return (
        `group '${this.groupId}' did not admit its consumer within ${err.waitedMs} ms (last attempt: ${err.reason}). ` +
        `Members of a previous run that did not leave (a crashed instance) keep their places until their session times out ` +
        `(session.timeout.ms, ${session} here), and the rebalance that admits new members can take as long as the longest ` +
        `max.poll.interval.ms of the members; raise 'startupTimeoutMs' above that, or see who holds the group with ` +
        `kafka-consumer-groups.sh --describe --members --group ${this.groupId}`
      );
    }
    const type = kafkaErrorType(err);
    if (type === 'INVALID_SESSION_TIMEOUT') {
      return `${message} (${type}); set 'session.timeout.ms' (${this.endpoint.properties.consumer.sessionTimeoutMs}) within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms (Kafka's defaults: 6000 and 1800000)`;
    }
    return `${message}${type ? ` (${type})` : ''}; check 'client.brokers' and that the topics exist`;
  }

  private get subscription(): (string | RegExp)[] {
    return this.endpoint.topicPattern ? [this.endpoint.topicPattern] : [...(this.endpoint.topics ?? [])];
  }

  private createChild(index: number): Child {
    const { endpoint, env } = this;
    const consumer = env.transport.createConsumer(env.client, { ...endpoint.properties.consumer, groupId: endpoint.groupId });
    const child: Child = { index, consumer, backoffs: new Map() };
    consumer.onAssignment((assignment) => this.onAssignment(child, assignment));
    consumer.onFatalError((err) => void this.replaceCrashed(child, err, 1));
    return child;
  }

  private async runChild(child: Child): Promise<void> {
    const { endpoint } = this;
    const { consumer } = child;
    await consumer.connect();
    await consumer.subscribe(this.subscription, endpoint.fromBeginning);
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS_IN_PARALLEL,
      eachBatch: endpoint.batch ? (b) => this.runBatchListener(b, child) : (b) => this.runRecordListener(b, child),
    });
  }

  /**
   * A new assignment: kafkajs keeps a consumer's paused partitions across rebalances (and forgets them when it
   * restarts a crashed consumer), so each assigned partition is set as the container wants it now: paused
   * while the container is, or while a back-off holds it; fetched otherwise (a partition paused here before
   * it moved away and back would never be fetched again).
   */
  private onAssignment(child: Child, assignment: TopicPartitions[]): void {
    if (!assignment.length) return;
    const { consumer, backoffs } = child;
    if (this.paused) {
      consumer.pause(assignment);
      return;
    }
    const held: TopicPartitions[] = [];
    const free: TopicPartitions[] = [];
    for (const { topic, partitions } of assignment) {
      const waiting = partitions.filter((p) => backoffs.has(tpKey(topic, p)));
      if (waiting.length) held.push({ topic, partitions: waiting });
      if (waiting.length < partitions.length) free.push({ topic, partitions: partitions.filter((p) => !backoffs.has(tpKey(topic, p))) });
    }
    if (held.length) consumer.pause(held);
    if (free.length) consumer.resume(free);
  }

  /**
   * A consumer the client gave up on (kafkajs does not restart after an error it deems not retriable, such as
   * UNKNOWN_SERVER_ERROR on a fetch) is replaced by a new one after a back-off, as a Spring container keeps
   * polling: one broker error must not end consumption. The new consumer rejoins the group and resumes from
   * the committed offsets, so records processed but not yet committed are delivered again. The back-off
   * doubles with each crash in a row: `attempt`, or more when `child` is a replacement that could not join
   * or crashed within a minute.
   */
  private async replaceCrashed(child: Child, err: Error, attempt: number): Promise<void> {
    if (!this.running || !this.children.includes(child)) return;
    const before = this.replacements.get(child);
    if (before && Date.now() - before.since < CRASH_STABLE_MS) attempt = Math.max(attempt, before.crashes + 1);
    const delayMs = Math.min(CRASH_RESTART_MAX_MS, CRASH_RESTART_FIRST_MS * 2 ** (attempt - 1));
    this.logger.error(
      `consumer ${child.index} of listener '${this.id}' stopped on an error: ${err.message}; starting a new consumer in ${delayMs} ms (records after the last commit are delivered again)`,
    );
    for (const t of child.backoffs.values()) clearTimeout(t);
    child.backoffs.clear();
    await child.consumer.disconnect().catch(() => undefined);
    await new Promise<void>((resolve) => {
      const wait = { timer: setTimeout(() => this.pendingRestarts.delete(wait) && resolve(), delayMs), resolve };
      this.pendingRestarts.add(wait);
    });
    if (!this.running || !this.children.includes(child)) return;
    const fresh = this.createChild(child.index);
    this.replacements.set(fresh, { crashes: attempt, since: Date.now() });
    this.children[this.children.indexOf(child)] = fresh;
    try {
      await this.runChild(fresh);
      this.logger.log(`consumer ${child.index} of listener '${this.id}' restarted`);
    } catch (e) {
      await this.replaceCrashed(fresh, e instanceof Error ? e : new Error(String(e)), attempt + 1);
    }
  }

  /**
   * Stops fetching, lets the handlers in flight finish (at most `shutdownTimeoutMs`), commits, leaves the
   * group and disconnects the admin client. A start in progress finishes first; concurrent calls share one
   * stop, so each resolves only once the handlers drained.
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopContainer().finally(() => (this.stopping = undefined)));
  }

  private async stopContainer(): Promise<void> {
    const wasRunning = this.running;
    // start() checks this after each step and makes nothing more; what it made is torn down below.
    this.running = false;
    await this.starting?.catch(() => undefined);
    await this.tearDown();
    if (wasRunning) this.logger.log('stopped');
  }

  /** Ends back-offs and restarts, drains and disconnects the consumers, then the admin client. */
  private async tearDown(): Promise<void> {
    for (const wait of this.pendingRestarts) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.pendingRestarts.clear();
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    const children = this.children;
    this.children = [];
    for (const c of children) {
      for (const t of c.backoffs.values()) clearTimeout(t);
      c.backoffs.clear();
    }
    // kafkajs stops fetching, waits for the batch in hand (our loops return after the current record and
    // commit what was processed), then leaves the group.
    const done = Promise.allSettled(children.map((c) => c.consumer.disconnect()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.env.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const inFlight = [...this.busy].flatMap((b) => (b.record ? [`${b.record.topic}-${b.record.partition}@${b.record.offset}`] : []));
      this.logger.warn(
        `listener '${this.id}' (${this.listener}): handlers still running after the shutdown timeout of ${this.env.shutdownTimeoutMs} ms (${inFlight.join(', ') || 'none known'}); their records are committed only if they finish before the process exits, and are delivered again otherwise; raise 'shutdownTimeoutMs' if handlers need longer`,
      );
    }
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  pause(): void {
    if (!this.running || this.paused) return;
    this.paused = true;
    for (const c of this.children) {
      const assignment = c.consumer.assignment();
      if (assignment.length) c.consumer.pause(assignment);
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const c of this.children) {
      const assignment = c.consumer
        .assignment()
        .map((tp) => ({ topic: tp.topic, partitions: tp.partitions.filter((p) => !c.backoffs.has(tpKey(tp.topic, p))) }))
        .filter((tp) => tp.partitions.length);
      if (assignment.length) c.consumer.resume(assignment);
    }
  }

  assignedPartitions(): TopicPartitions[] {
    const byTopic = new Map<string, number[]>();
    for (const c of this.children) {
      for (const tp of c.consumer.assignment()) {
        const list = byTopic.get(tp.topic) ?? [];
        list.push(...tp.partitions);
        byTopic.set(tp.topic, list);
      }
    }
    return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
  }

  async lag(): Promise<PartitionLag[]> {
    const admin = await this.adminClient();
    const topics = await this.subscribedTopics(admin);
    const committed = await admin.committedOffsets(this.groupId, topics);
    const out: PartitionLag[] = [];
    for (const topic of topics) {
      for (const { partition, offset: endOffset } of await admin.endOffsets(topic)) {
        const c = committed.find((o) => o.topic === topic && o.partition === partition)?.offset ?? -1;
        out.push({ topic, partition, committed: c, endOffset, lag: c < 0 ? endOffset : Math.max(0, endOffset - c) });
      }
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  // ---- record listeners ------------------------------------------------------------------------

  private async runRecordListener(b: TransportBatch, child: Child): Promise<void> {
    const { records } = b;
    const mode = this.endpoint.ackMode;
    const busy: Busy = { record: null, since: 0, warned: false, fenced: undefined };
    this.busy.add(busy);
    const beats = this.beatWhileBusy(b, busy);
    let pending = -1;
    let sinceCommit = 0;
    let nextBeat = 0;
    // The fetch position moves to the last record done once, when the loop ends (each call costs kafkajs a
    // Long parse); commits name their offsets themselves.
    let lastDone = -1;
    try {
      // Only our own seek (a back-off, after which the loop stops) makes a batch stale: checked once.
      if (b.isStale()) return;
      for (let i = 0; i < records.length; i++) {
        if (busy.fenced) throw busy.fenced;
        if (!b.isRunning() || this.paused || !this.running) break;
        const record = records[i];
        busy.record = record;
        busy.since = Date.now();
        busy.warned = false;
        const outcome = await this.handleRecord(b, record, child);
        busy.record = null;
        if (outcome === Outcome.HALT) break;
        if (outcome === Outcome.AGAIN) {
          // Delivered again at once, but first timers and I/O get their turn (stop(), back-off timers), as
          // between two polls; and the heartbeat below is sent if due.
          i--;
          await nextTurn();
        } else if (outcome === Outcome.RECOVERED) {
          lastDone = record.offset;
        } else {
          lastDone = record.offset;
          if (mode === AckMode.BATCH) {
            pending = record.offset + 1;
            if (++sinceCommit >= this.maxPollRecords) {
              await this.commit(b, pending, busy);
              pending = -1;
              sinceCommit = 0;
            }
          } else if (mode === AckMode.RECORD) {
            await this.commit(b, record.offset + 1, busy);
          }
        }
        // kafkajs sends a heartbeat only once its interval has passed; asking a few times per interval is enough.
        const now = Date.now();
        if (now >= nextBeat) {
          nextBeat = now + this.beatEveryMs;
          await b.heartbeat();
        }
      }
      if (busy.fenced) throw busy.fenced;
    } finally {
      clearInterval(beats);
      this.busy.delete(busy);
      if (lastDone >= 0) b.resolveOffset(lastDone);
      if (pending >= 0) await this.commit(b, pending);
      if (mode === AckMode.MANUAL) await this.commitAcks(b);
    }
  }

  /**
   * kafkajs heartbeats only when asked: nothing beats while a handler runs (Java's consumer has a thread for
   * it). So while a record (or chunk) of this batch is in the handler, a timer asks every `beatEveryMs`, and
   * kafkajs sends one per `heartbeat.interval.ms`; for each record only until `max.poll.interval.ms` has
   * passed, after which the session times out and the member is removed, as a Java consumer leaves the group.
   * A fencing error ends the loop after the record in hand. The timer is unreferenced and fires only in loops
   * that last longer than its period, so fast batches never run it.
   */
  private beatWhileBusy(b: TransportBatch, busy: Busy): NodeJS.Timeout {
    const limit = this.endpoint.properties.maxPollIntervalMs;
    const timer = setInterval(() => {
      if (!busy.record || busy.fenced || Date.now() - busy.since > limit) return;
      b.heartbeat().catch((err: unknown) => {
        if (isFencing(err)) busy.fenced = err as Error;
        else this.logger.debug(`heartbeat during a handler failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }, this.beatEveryMs);
    timer.unref();
    return timer;
  }

  /** Delivers one record; returns what the loop does next. */
  private async handleRecord(b: TransportBatch, record: ConsumedRecord, child: Child): Promise<Outcome> {
    const { endpoint } = this;
    const wait = (endpoint.notBefore?.(record) ?? 0) - Date.now();
    if (wait > 0) {
      // Not due yet: hold the partition at this record until it is, with the machinery of a back-off.
      if (b.isRunning() && this.running) this.backOff(b, child, record.offset, wait);
      return Outcome.HALT;
    }
    let error: Error;
    const started = this.observer ? performance.now() : 0;
    try {
      const value = deserialize(endpoint.valueDeserializer, record, false);
      const key = this.keysOnDemand ? UNREAD : deserialize(endpoint.keyDeserializer, record, true);
      const ctx = new KafkaContext(record, this.groupId, this.id, () => this.errorHandler.deliveryAttempt(record, this.failureContext));
      const result = endpoint.invoke(value, ctx, new Invocation(false, key, record, this, b, endpoint.keyDeserializer));
      if (result !== undefined) await settle(result);
      if (this.failing.size && this.failing.delete(tpKey(record.topic, record.partition))) {
        this.errorHandler.recordSucceeded(record, this.failureContext);
      }
      this.observer?.recordOutcome({ ...this.event(b), outcome: 'success', count: 1, durationMs: performance.now() - started });
      return Outcome.DONE;
    } catch (err) {
      error = this.toError(err);
    }
    this.observer?.recordOutcome({ ...this.event(b), outcome: 'failure', count: 1, durationMs: performance.now() - started });
    this.failing.add(tpKey(record.topic, record.partition));
    const result = await this.askErrorHandler(() => this.errorHandler.handleRecord(record, error, this.failureContext), record);
    this.reportHandled(b, result, 1);
    return this.apply(result, b, child, record, true);
  }

  /** Applies an error handler's decision to the record at `record.offset`. */
  private async apply(result: ErrorHandlingResult, b: TransportBatch, child: Child, record: ConsumedRecord, single: boolean): Promise<Outcome> {
    switch (result.action) {
      case 'skip':
        if (this.errorHandler.isAckAfterHandle?.() === false) return Outcome.RECOVERED;
        // A recovered record counts as acknowledged in the manual modes too (Spring's ackAfterHandle).
        if (single && (this.endpoint.ackMode === AckMode.MANUAL || this.endpoint.ackMode === AckMode.MANUAL_IMMEDIATE)) {
          await this.acknowledged(b, record.offset);
        }
        return Outcome.DONE;
      case 'retry':
        if (!b.isRunning() || !this.running) return Outcome.HALT;
        if (result.delayMs <= 0) return Outcome.AGAIN;
        this.backOff(b, child, record.offset, result.delayMs);
        return Outcome.HALT;
      case 'stop':
        this.logger.error(
          `the error handler stopped listener '${this.id}' at ${record.topic}-${record.partition}@${record.offset}; that record is not committed and is delivered again after a restart`,
        );
        setImmediate(() => void this.stop());
        return Outcome.HALT;
    }
  }

  // ---- batch listeners -------------------------------------------------------------------------

  private async runBatchListener(b: TransportBatch, child: Child): Promise<void> {
    const busy: Busy = { record: null, since: 0, warned: false, fenced: undefined };
    this.busy.add(busy);
    const beats = this.beatWhileBusy(b, busy);
    try {
      let start = 0;
      while (start < b.size) {
        if (busy.fenced) throw busy.fenced;
        if (!b.isRunning() || b.isStale() || this.paused || !this.running) break;
        const { advance, outcome, complete, failure } = await this.deliverChunk(b, child, start, busy);
        if (complete >= 0) {
          // Committed here rather than in deliverChunk: its frame, and with it the chunk's deserialized values,
          // is gone, so they need not survive the commit's round trip (as with kafkajs's own auto-commit).
          await this.completeBatch(b, complete, false, busy);
          await b.heartbeat();
        }
        start += advance;
        if (outcome === Outcome.HALT) break;
        if (outcome === Outcome.AGAIN) {
          await this.beforeRetry(b);
          continue;
        }
        if (!failure) continue;
        // The record at `start` cannot be deserialized: it never reaches the listener; the error handler
        // recovers it as a record.
        const bad = b.recordAt(start);
        const result = await this.askErrorHandler(() => this.errorHandler.handleRecord(bad, failure, this.failureContext), bad);
        this.reportHandled(b, result, 1);
        const next = await this.apply(result, b, child, bad, true);
        if (next === Outcome.HALT) break;
        if (next === Outcome.DONE || next === Outcome.RECOVERED) {
          b.resolveOffset(bad.offset);
          if (next === Outcome.DONE) await this.commit(b, bad.offset + 1);
          start++;
        } else {
          await this.beforeRetry(b);
        }
      }
      if (busy.fenced) throw busy.fenced;
    } finally {
      clearInterval(beats);
      this.busy.delete(busy);
      if (this.endpoint.ackMode === AckMode.MANUAL) await this.commitAcks(b);
    }
  }

  /**
   * Deserializes up to `max.poll.records` records from `start` and hands those before the first that fails
   * to the listener. `failure`: why the record after them cannot be deserialized.
   */
  private async deliverChunk(b: TransportBatch, child: Child, start: number, busy: Busy): Promise<BatchStep & { failure?: Error }> {
    let count = Math.min(b.size - start, this.maxPollRecords);
    const values = new Array<unknown>(count);
    const keys = this.keysOnDemand ? undefined : new Array<unknown>(count);
    const { valueDeserializer, keyDeserializer } = this.endpoint;
    let failure: Error | undefined;
    for (let i = 0; i < count; i++) {
      try {
        values[i] = deserializeValueAt(valueDeserializer, b, start + i);
        if (keys) keys[i] = deserialize(keyDeserializer, b.recordAt(start + i), true);
      } catch (err) {
        failure = err as Error;
        count = i;
        values.length = count;
        if (keys) keys.length = count;
        break;
      }
    }
    if (count === 0) return { advance: 0, outcome: Outcome.DONE, complete: -1, failure };
    busy.record = b.recordAt(start);
    busy.since = Date.now();
    busy.warned = false;
    const step = await this.handleBatch(b, child, start, count, values, keys);
    busy.record = null;
    return failure ? { ...step, failure } : step;
  }

  /**
   * Invokes a batch listener; `advance` records (from the first) are done: committed, or when the listener
   * succeeded, to be completed by the caller at offset `complete`.
   */
  private async handleBatch(
    b: TransportBatch,
    child: Child,
    /** The records handed over: `count` from index `start` of the batch. */
    start: number,
    count: number,
    values: unknown[],
    /** Undefined when keys are read on demand. */
    keys: unknown[] | undefined,
  ): Promise<BatchStep> {
    const { endpoint } = this;
    // Made only if something asks: the listener (its context, @Key, @Headers), or a failure.
    let made: readonly ConsumedRecord[] | undefined;
    const recordsOf = () => (made ??= start === 0 && count === b.size ? b.records : Array.from({ length: count }, (_, i) => b.recordAt(start + i)));
    let error: Error;
    const started = this.observer ? performance.now() : 0;
    try {
      const attempt = this.errorHandler.deliveryAttempt(b.recordAt(start), this.failureContext);
      const ctx = new KafkaBatchContext(recordsOf, this.groupId, this.id, attempt);
      const result = endpoint.invoke(values, ctx, new Invocation(true, keys ?? UNREAD, recordsOf, this, b, endpoint.keyDeserializer));
      if (result !== undefined) await settle(result);
      if (this.failing.size && this.failing.delete(tpKey(b.topic, b.partition))) {
        for (const r of recordsOf()) this.errorHandler.recordSucceeded(r, this.failureContext);
      }
      this.observer?.recordOutcome({ ...this.event(b), outcome: 'success', count, durationMs: performance.now() - started });
      return { advance: count, outcome: Outcome.DONE, complete: b.recordAt(start + count - 1).offset };
    } catch (err) {
      error = this.toError(err);
    }
    const records = recordsOf();
    this.observer?.recordOutcome({ ...this.event(b), outcome: 'failure', count: records.length, durationMs: performance.now() - started });
    this.failing.add(tpKey(b.topic, b.partition));
    let result: { committed: number; then: ErrorHandlingResult };
    try {
      result = await this.errorHandler.handleBatch(records, error, this.failureContext);
    } catch (err) {
      result = { committed: 0, then: this.errorHandlerFailed(err, records[0]) };
    }
    const committed = Math.max(0, Math.min(records.length, Math.trunc(result.committed)));
    this.reportHandled(b, result.then, records.length - committed);
    if (committed > 0) {
      const last = records[committed - 1].offset;
      b.resolveOffset(last);
      await this.commit(b, last + 1);
    }
    if (committed === records.length) return { advance: committed, outcome: Outcome.DONE, complete: -1 };
    const outcome = await this.apply(result.then, b, child, records[committed], false);
    if (outcome === Outcome.DONE || outcome === Outcome.RECOVERED) {
      // Skipped: every record from `committed` on is recovered.
      if (outcome === Outcome.DONE) await this.completeBatch(b, records[records.length - 1].offset, true);
      else b.resolveOffset(records[records.length - 1].offset);
      return { advance: records.length, outcome: Outcome.DONE, complete: -1 };
    }
    return { advance: committed, outcome, complete: -1 };
  }

  /** Before delivering a failed chunk again at once: timers and I/O get their turn, as between two polls, and a heartbeat if due. */
  private async beforeRetry(b: TransportBatch): Promise<void> {
    await nextTurn();
    await b.heartbeat();
  }

  /** Resolves and commits a processed batch per the ack mode. */
  private async completeBatch(b: TransportBatch, lastOffset: number, recovered = false, busy?: Busy): Promise<void> {
    if (lastOffset < 0) return;
    b.resolveOffset(lastOffset);
    const mode = this.endpoint.ackMode;
    if (recovered || mode === AckMode.BATCH || mode === AckMode.RECORD) await this.commit(b, lastOffset + 1, busy);
  }

  // ---- commits and acknowledgments -------------------------------------------------------------

  /** Called by `Acknowledgment.acknowledge()`: queues (MANUAL) or commits (MANUAL_IMMEDIATE) `offset`. */
  acknowledged(b: TransportBatch, offset: number): Promise<void> {
    const mode = this.endpoint.ackMode;
    if (mode === AckMode.MANUAL_IMMEDIATE) return this.commit(b, offset + 1);
    if (mode === AckMode.MANUAL) {
      const key = tpKey(b.topic, b.partition);
      const prev = this.acks.get(key);
      if (!prev || prev.offset < offset + 1) this.acks.set(key, { batch: b, offset: offset + 1 });
    }
    return Promise.resolve();
  }

  private async commitAcks(b: TransportBatch): Promise<void> {
    const key = tpKey(b.topic, b.partition);
    const ack = this.acks.get(key);
    if (!ack) return;
    this.acks.delete(key);
    await this.commit(b, ack.offset);
  }

  /**
   * Commits `offset`. A commit refused because the member's generation is over marks `busy` (the loop's), whose
   * loop then ends and lets kafkajs rejoin: the rest of the fetch belongs to the group's new generation, which
   * delivers it from the committed offset, so handling it here would only duplicate it.
   */
  private commit(b: TransportBatch, offset: number, busy?: Busy): Promise<void> {
    const observer = this.observer;
    let sent = b.commit([{ topic: b.topic, partition: b.partition, offset }]);
    if (observer) sent = sent.then(() => observer.commit({ ...this.event(b), ok: true }));
    sent = sent.catch((err: unknown) => {
      if (busy && isFencing(err)) busy.fenced = err as Error;
      observer?.commit({ ...this.event(b), ok: false });
      this.logger.error(
        `commit of offset ${offset} on ${b.topic}-${b.partition} failed: ${err instanceof Error ? err.message : String(err)}; records after the last commit will be delivered again`,
      );
    });
    return this.endpoint.syncCommits ? sent : Promise.resolve();
  }

  // ---- observation -------------------------------------------------------------------------------

  private get observer(): KafkaObserver | undefined {
    return this.env.observer;
  }

  private event(b: TransportBatch): ListenerEvent {
    return { listenerId: this.id, groupId: this.groupId, topic: b.topic, partition: b.partition };
  }

  /** Reports what the error handler decided for `count` failed records. */
  private reportHandled(b: TransportBatch, result: ErrorHandlingResult, count: number): void {
    if (!this.observer || count <= 0 || result.action === 'stop') return;
    this.observer.recordOutcome({ ...this.event(b), outcome: result.action === 'retry' ? 'retried' : 'recovered', count });
  }

  // ---- errors ------------------------------------------------------------------------------------

  private toError(thrown: unknown): Error {
    if (thrown instanceof Error) return thrown;
    let shown: string;
    try {
      shown = typeof thrown === 'string' ? JSON.stringify(thrown) : (JSON.stringify(thrown) ?? String(thrown));
    } catch {
      shown = String(thrown);
    }
    return new ListenerExecutionFailedError(
      `listener '${this.id}' (${this.listener}) threw a non-Error value (${shown}); throw an Error (or a subclass) so that error handlers and logs get a message and a stack trace`,
      this.id,
      thrown,
    );
  }

  private async askErrorHandler(ask: () => Promise<ErrorHandlingResult>, record: ConsumedRecord): Promise<ErrorHandlingResult> {
    try {
      return await ask();
    } catch (err) {
      return this.errorHandlerFailed(err, record);
    }
  }

  /** The error handler itself threw (a dead-letter publish failed...): deliver the record again after a second, as Spring redelivers it. */
  private errorHandlerFailed(err: unknown, record: ConsumedRecord): ErrorHandlingResult {
    this.logger.error(
      `the error handler of listener '${this.id}' failed on ${record.topic}-${record.partition}@${record.offset}: ${err instanceof Error ? err.message : String(err)}; the record is delivered again in 1000 ms`,
    );
    return { action: 'retry', delayMs: 1_000 };
  }

  /**
   * Pauses the partition on `child` (the consumer whose fetch `b` came from), seeks back to `offset` and
   * resumes after `delayMs`, not a millisecond sooner: a timer that fires early (Node's may, by a hair) or is
   * cut to the longest a Node timer takes (about 24.8 days; a longer one fires after 1 ms) is set again for
   * the rest.
   */
  private backOff(b: TransportBatch, child: Child, offset: number, delayMs: number): void {
    const { consumer, backoffs } = child;
    // Revoked meanwhile: the new owner starts from the committed offset.
    if (!consumer.assignment().some((tp) => tp.topic === b.topic && tp.partitions.includes(b.partition))) return;
    const key = tpKey(b.topic, b.partition);
    const tp = [{ topic: b.topic, partitions: [b.partition] }];
    consumer.pause(tp);
    consumer.seek(b.topic, b.partition, offset);
    clearTimeout(backoffs.get(key));
    const due = performance.now() + delayMs;
    const wake = () => {
      const left = due - performance.now();
      if (left > 0) {
        backoffs.set(key, setTimeout(wake, Math.min(Math.ceil(left), MAX_TIMER_MS)));
        return;
      }
      backoffs.delete(key);
      if (this.running && !this.paused) consumer.resume(tp);
    };
    backoffs.set(key, setTimeout(wake, Math.min(delayMs, MAX_TIMER_MS)));
  }

  // ---- watchdogs -------------------------------------------------------------------------------

  private checkBusy(): void {
    const limit = this.endpoint.properties.maxPollIntervalMs;
    const now = Date.now();
    for (const b of this.busy) {
      if (!b.record || b.warned || now - b.since <= limit) continue;
      b.warned = true;
      const message =
        `listener '${this.id}' (${this.listener}) has been handling ${b.record.topic}-${b.record.partition}@${b.record.offset} for ${now - b.since} ms, ` +
        `longer than max.poll.interval.ms (${limit}); a Java consumer would leave the group here. Make the handler faster, hand the work off, or raise 'max.poll.interval.ms'`;
      this.logger.warn(message);
      process.emitWarning(message, { code: 'KAFKA_NEST_MAX_POLL_INTERVAL_EXCEEDED' });
    }
  }

  private async warnIfIdleConsumers(): Promise<void> {
    try {
      const admin = await this.adminClient();
      let partitions = 0;
      for (const topic of await this.subscribedTopics(admin)) partitions += (await admin.endOffsets(topic)).length;
      if (this.running && this.endpoint.concurrency > partitions) {
        this.logger.warn(
          `listener '${this.id}' runs ${this.endpoint.concurrency} consumers for ${partitions} partition(s): ${this.endpoint.concurrency - partitions} will sit idle (a partition goes to one consumer of a group); lower 'concurrency' or add partitions`,
        );
      }
    } catch (err) {
      this.logger.debug(`could not count partitions: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Creates the topics the error handler publishes to (dead-letter topics), as `topicsToCreate` asks. */
  private async createErrorHandlerTopics(): Promise<void> {
    const ask = this.errorHandler.topicsToCreate?.bind(this.errorHandler);
    if (!ask) return;
    const admin = await this.adminClient();
    const wanted: { topic: string; numPartitions: number }[] = [];
    for (const topic of await this.subscribedTopics(admin)) {
      const partitions = (await admin.partitionCount(topic)) ?? 1;
      for (const t of ask({ topic, partitions }, this.failureContext)) wanted.push({ topic: t.topic, numPartitions: t.numPartitions });
    }
    if (wanted.length) await admin.createTopics(wanted);
  }

  /** One admin client per container, made on first use (concurrent callers share it); `stop()` disconnects it. */
  private adminClient(): Promise<TransportAdmin> {
    if (!this.admin) {
      const admin = this.env.transport.createAdmin(this.env.client);
      const connected: Promise<TransportAdmin> = admin.connect().then(
        () => admin,
        async (err: unknown) => {
          if (this.admin === connected) this.admin = undefined;
          await admin.disconnect().catch(() => undefined);
          throw err;
        },
      );
      this.admin = connected;
    }
    return this.admin;
  }

  private async subscribedTopics(admin: TransportAdmin): Promise<string[]> {
    const { topics, topicPattern } = this.endpoint;
    if (!topicPattern) return [...(topics ?? [])];
    return (await admin.listTopics()).filter((t) => topicPattern.test(t)).sort();
  }
}

/** The Kafka error name (`INVALID_SESSION_TIMEOUT`...) a client error carries, looking through its causes. */
function kafkaErrorType(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/** Waits for what a handler returned: a promise, an Observable (or a promise of one, from a filter). */
async function settle(result: unknown): Promise<void> {
  const value = isPromiseLike(result) ? await result : result;
  if (isObservable(value)) await lastValueFrom(value, { defaultValue: undefined });
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function';
}
