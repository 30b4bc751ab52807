/**
 * Start-up after a crash: a consumer that the group does not admit yet (its coordinator is moving, a
 * rebalance is under way, or a member of the previous run, killed without leaving, holds its place until
 * its session times out) is retried until admitted, up to a start-up timeout, instead of failing start-up
 * with a misleading hint. Internal.
 */
import { KafkaNestError } from '../kafka.errors.js';

/** Kafka errors that mean "not admitted yet": the same join, made again later, succeeds. */
const RETRIABLE_GROUP_ERRORS: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'NOT_COORDINATOR_FOR_GROUP',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'GROUP_LOAD_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REQUEST_TIMED_OUT',
]);

/** kafkajs's message for a request that got no answer in time: `Request SyncGroup(key: 14, version: 3) timed out`. */
const GROUP_REQUEST_TIMEOUT = /Request (JoinGroup|SyncGroup|Heartbeat|FindCoordinator|GroupCoordinator)\(key: \d+, version: \d+\) timed out/;

/**
 * Why a consumer's start failed, when the failure is the group not admitting it yet: a group request that
 * timed out (`SyncGroup timed out`) or a retriable group error (`REBALANCE_IN_PROGRESS`). Undefined for
 * anything else (brokers unreachable, a refused session timeout, an authorization error...). The cause
 * chain is searched, as kafkajs wraps the last error in `KafkaJSNumberOfRetriesExceeded`.
 */
export function notAdmittedReason(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && RETRIABLE_GROUP_ERRORS.has(type)) return type;
    const timedOut = GROUP_REQUEST_TIMEOUT.exec(String((e as { message?: unknown }).message ?? ''));
    if (timedOut) return `${timedOut[1]} timed out`;
  }
  return undefined;
}

/**
 * The start-up timeout when none is configured: twice the session timeout, and at least a minute. A member
 * of a crashed instance is removed once its session times out; the rebalance that admits the new member
 * ends after that.
 */
export function defaultStartupTimeoutMs(sessionTimeoutMs: number): number {
  return Math.max(60_000, 2 * sessionTimeoutMs);
}

/** The wait between two attempts to join: short at first, growing to 5 s. */
export function admissionRetryDelayMs(attempt: number): number {
  return Math.min(5_000, 250 * 2 ** Math.max(0, attempt - 1));
}

/** A consumer was still not admitted to its group when the start-up timeout ran out. */
export class NotAdmittedError extends KafkaNestError {
  override name = 'NotAdmittedError';

  constructor(
    /** What the last attempt met: `SyncGroup timed out`, `REBALANCE_IN_PROGRESS`... */
    readonly reason: string,
    readonly waitedMs: number,
    cause: unknown,
  ) {
    super(`not admitted to the group within ${waitedMs} ms (last attempt: ${reason})`, { cause });
  }
}

export interface AdmissionSteps {
  /** Starts the consumer (connect, subscribe, first join); rejects when it could not. */
  readonly start: () => Promise<void>;
  /** Throws the failed consumer away and makes a fresh one for the next `start`. */
  readonly replace: () => Promise<void>;
  /** False once the container is stopping: give up quietly. */
  readonly wanted: () => boolean;
  /** Waits `ms`; resolves early when the container stops. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Told before the first wait (and at debug level before each further one). */
  readonly waiting: (reason: string, attempt: number) => void;
  readonly timeoutMs: number;
}

/**
 * Starts a consumer, retrying while the group does not admit it yet (`notAdmittedReason`), until
 * `timeoutMs` has passed since the first attempt: an attempt still under way then (a join the coordinator
 * holds) is given up too. Rejects with `NotAdmittedError` (the last error as its cause) when the time is
 * up; any other failure rejects at once, as it is.
 */
export async function startUntilAdmitted(steps: AdmissionSteps): Promise<void> {
  const began = Date.now();
  let last: { reason: string; error: unknown } | undefined;
  for (let attempt = 1; ; attempt++) {
    const left = steps.timeoutMs - (Date.now() - began);
    let timer: NodeJS.Timeout | undefined;
    const attemptDone = steps.start();
    attemptDone.catch(() => undefined); // settled later when the deadline wins the race
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, left))));
    try {
      const outcome = await Promise.race([attemptDone, deadline]);
      if (outcome !== 'late') return;
      throw new NotAdmittedError(last?.reason ?? 'the join did not complete', Date.now() - began, last?.error);
    } catch (err) {
      if (err instanceof NotAdmittedError) throw err;
      const reason = notAdmittedReason(err);
      if (reason === undefined || !steps.wanted()) throw err;
      last = { reason, error: err };
      const delay = admissionRetryDelayMs(attempt);
      const waited = Date.now() - began;
      if (waited + delay >= steps.timeoutMs) throw new NotAdmittedError(reason, waited, err);
      steps.waiting(reason, attempt);
      await steps.replace();
      await steps.sleep(delay);
      if (!steps.wanted()) return;
    } finally {
      clearTimeout(timer);
    }
  }
}
