/**
 * The container of one `@KafkaListener`: its lifecycle. Starts `concurrency` listener consumers of one
 * group, replaces one that crashed after a back-off, pauses and resumes them, and stops them draining the
 * handlers in flight. Mirrors Spring Kafka's `ConcurrentMessageListenerContainer`.
 *
 * The rest lives in units named for what they do (see docs/listener-container.md):
 * - `ListenerConsumer` (listener-consumer.ts): one consumer, its fetch loop and its back-offs;
 * - `RecordListenerInvoker` / `BatchListenerInvoker`: deliver each fetch to the listener;
 * - `OffsetTracker`: the only place commits are decided (an offset is committed only after its record was
 *   processed or recovered);
 * - `DeliveryFailures`: the error handler's decisions; `BackOffScheduler`: pause, seek, resume;
 * - `Liveness`: heartbeats while handlers run and the `max.poll.interval.ms` watchdog;
 * - `ListenerMetrics`: events for the observer; `ContainerAdmin`: error-handler topics, idle consumers, lag.
 *
 * Records of one partition are handled one at a time in offset order; partitions proceed in parallel.
 * Retries follow the `CommonErrorHandler` contract: a retry with a delay pauses the partition, seeks back to
 * the failed record and resumes after the delay (no sleeping in the fetch loop); a retry without a delay
 * delivers the record again after one turn of the event loop (deliberate difference: Spring seeks and polls
 * again, which has the same effect at more cost).
 */
import { Logger } from '@nestjs/common';
import { KafkaNestError } from '../../kafka.errors.js';
import type { TopicPartitions } from '../../transport/kafka-transport.js';
import { defaultStartupTimeoutMs, NotAdmittedError, startUntilAdmitted } from '../group-admission.js';
import type { ContainerEnvironment, ListenerEndpoint } from '../listener-endpoint.js';
import type { MessageListenerContainer, PartitionLag } from '../message-listener-container.js';
import { BatchListenerInvoker } from './batch.invoker.js';
import { ContainerAdmin } from './container-admin.js';
import { DeliveryFailures } from './delivery-failures.js';
import { ListenerConsumer } from './listener-consumer.js';
import type { ListenerInvoker } from './listener-invoker.js';
import { ListenerMetrics } from './listener-metrics.js';
import { Liveness } from './liveness.js';
import { OffsetTracker } from './offset-tracker.js';
import { RecordListenerInvoker } from './record.invoker.js';
import { TransactionalDelivery } from './transactional-delivery.js';

/** Back-off before replacing a crashed consumer: doubles from the first value up to the last. */
const CRASH_RESTART_FIRST_MS = 1_000;
const CRASH_RESTART_MAX_MS = 30_000;
/** A consumer that ran this long before crashing starts the back-off over; one crashing sooner doubles it. */
const CRASH_STABLE_MS = 60_000;

export class KafkaListenerContainer implements MessageListenerContainer {
  readonly id: string;
  readonly groupId: string;
  readonly listener: string;

  private readonly logger: Logger;
  private readonly liveness: Liveness;
  private readonly admin: ContainerAdmin;
  /** Delivers each fetch to the listener: one for all consumers (it keeps no state per consumer). */
  private readonly invoker: ListenerInvoker;
  /** The listener consumers, by index (named `children` as before the split: tests look at them). */
  private children: ListenerConsumer[] = [];
  /** Back-offs before replacing crashed consumers; ended early by `stop()`. */
  private readonly pendingRestarts = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Replacement consumers: the crashes in a row that preceded each, and when it was made. */
  private readonly replacements = new WeakMap<ListenerConsumer, { crashes: number; since: number }>();
  private running = false;
  private paused = false;
  /** The start in progress: `stop()` waits for it, then tears down what it made. */
  private starting: Promise<void> | undefined;
  /** The stop in progress: every caller of `stop()` gets it, so none returns before the handlers drained. */
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly env: ContainerEnvironment,
  ) {
    this.id = endpoint.id;
    this.groupId = endpoint.groupId;
    this.listener = endpoint.listener;
    this.logger = new Logger(`KafkaListener ${endpoint.id}`);
    const failureContext = { listenerId: endpoint.id, groupId: endpoint.groupId };
    const { properties } = endpoint;
    this.liveness = new Liveness(properties.maxPollIntervalMs, properties.consumer.heartbeatIntervalMs, `listener '${this.id}' (${this.listener})`, this.logger);
    this.admin = new ContainerAdmin(endpoint, env, failureContext, this.logger);
    const metrics = new ListenerMetrics(env, endpoint.id, endpoint.groupId);
    // With transactionIdPrefix: each delivery runs in a transaction that also commits its offset.
    const transactional = env.transactions ? new TransactionalDelivery(env.transactions(), endpoint.groupId) : undefined;
    const offsets = new OffsetTracker(endpoint, metrics, this.logger, transactional !== undefined);
    const failures = new DeliveryFailures(endpoint.errorHandler, failureContext, endpoint.listener, offsets, this, this.logger, transactional);
    const Invoker = endpoint.batch ? BatchListenerInvoker : RecordListenerInvoker;
    this.invoker = new Invoker(endpoint, this, offsets, failures, this.liveness, metrics, transactional);
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
      await this.admin.createErrorHandlerTopics();
    } catch (err) {
      this.running = false;
      await this.tearDown();
      throw err;
    }
    // A stop() meanwhile: make no consumers (it waits for this start, then tears down what exists).
    if (!this.running) return;
    this.children = Array.from({ length: endpoint.concurrency }, (_, index) => this.createConsumer(index));
    try {
      await Promise.all(this.children.map((c) => this.admit(c)));
    } catch (err) {
      this.running = false;
      await this.tearDown();
      throw new KafkaNestError(`listener '${this.id}' (${this.listener}) could not start: ${this.startupProblem(err)}`, { cause: err });
    }
    if (!this.running) return;
    this.liveness.startWatchdog();
    this.logger.log(
      `started: group '${this.groupId}', ${endpoint.topicPattern ? `pattern ${endpoint.topicPattern}` : `topics ${[...(endpoint.topics ?? [])].join(', ')}`}, ${endpoint.concurrency} consumer(s), ack mode ${endpoint.ackMode}`,
    );
    if (endpoint.concurrency > 1) void this.admin.warnIfIdleConsumers(() => this.running);
  }

  /** Starts a consumer, retrying while its group does not admit it yet (see `group-admission.ts`). */
  private admit(first: ListenerConsumer): Promise<void> {
    let consumer = first;
    const { sessionTimeoutMs } = this.endpoint.properties.consumer;
    const timeoutMs = this.env.startupTimeoutMs ?? defaultStartupTimeoutMs(sessionTimeoutMs);
    return startUntilAdmitted({
      start: () => consumer.run(),
      replace: async () => {
        await consumer.disconnect().catch(() => undefined);
        const at = this.children.indexOf(consumer);
        if (at < 0) return; // torn down meanwhile (a stop): nothing more is made
        consumer = this.children[at] = this.createConsumer(consumer.index);
      },
      wanted: () => this.running,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          const wait = { timer: setTimeout(() => this.pendingRestarts.delete(wait) && resolve(), ms), resolve };
          this.pendingRestarts.add(wait);
        }),
      waiting: (reason, attempt) => {
        const line =
          `consumer ${consumer.index} of listener '${this.id}' is waiting for group '${this.groupId}' to admit it (${reason}); ` +
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

  private createConsumer(index: number): ListenerConsumer {
    return new ListenerConsumer(index, this.endpoint, this.env, this, this.invoker, (consumer, err) => void this.replaceCrashed(consumer, err, 1));
  }

  /**
   * A consumer the client gave up on (kafkajs does not restart after an error it deems not retriable, such as
   * UNKNOWN_SERVER_ERROR on a fetch) is replaced by a new one after a back-off, as a Spring container keeps
   * polling: one broker error must not end consumption. The new consumer rejoins the group and resumes from
   * the committed offsets, so records processed but not yet committed are delivered again. The back-off
   * doubles with each crash in a row: `attempt`, or more when `crashed` is a replacement that could not join
   * or crashed within a minute.
   */
  private async replaceCrashed(crashed: ListenerConsumer, err: Error, attempt: number): Promise<void> {
    if (!this.running || !this.children.includes(crashed)) return;
    const before = this.replacements.get(crashed);
    if (before && Date.now() - before.since < CRASH_STABLE_MS) attempt = Math.max(attempt, before.crashes + 1);
    const delayMs = Math.min(CRASH_RESTART_MAX_MS, CRASH_RESTART_FIRST_MS * 2 ** (attempt - 1));
    this.logger.error(
      `consumer ${crashed.index} of listener '${this.id}' stopped on an error: ${err.message}; starting a new consumer in ${delayMs} ms (records after the last commit are delivered again)`,
    );
    await crashed.disconnect().catch(() => undefined);
    await new Promise<void>((resolve) => {
      const wait = { timer: setTimeout(() => this.pendingRestarts.delete(wait) && resolve(), delayMs), resolve };
      this.pendingRestarts.add(wait);
    });
    if (!this.running || !this.children.includes(crashed)) return;
    const fresh = this.createConsumer(crashed.index);
    this.replacements.set(fresh, { crashes: attempt, since: Date.now() });
    this.children[this.children.indexOf(crashed)] = fresh;
    try {
      await fresh.run();
      this.logger.log(`consumer ${crashed.index} of listener '${this.id}' restarted`);
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
    this.liveness.stopWatchdog();
    const consumers = this.children;
    this.children = [];
    // kafkajs stops fetching, waits for the batch in hand (our loops return after the current record and
    // commit what was processed), then leaves the group.
    const done = Promise.allSettled(consumers.map((c) => c.disconnect()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.env.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const inFlight = this.liveness.inFlight();
      this.logger.warn(
        `listener '${this.id}' (${this.listener}): handlers still running after the shutdown timeout of ${this.env.shutdownTimeoutMs} ms (${inFlight.join(', ') || 'none known'}); their records are committed only if they finish before the process exits, and are delivered again otherwise; raise 'shutdownTimeoutMs' if handlers need longer`,
      );
    }
    await this.admin.disconnect();
  }

  pause(): void {
    if (!this.running || this.paused) return;
    this.paused = true;
    for (const c of this.children) c.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const c of this.children) c.resume();
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

  lag(): Promise<PartitionLag[]> {
    return this.admin.lag();
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
