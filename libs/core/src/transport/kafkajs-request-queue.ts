/**
 * A fix for kafkajs 2.2.4's request queue, applied once by `KafkajsTransport`.
 *
 * After every response, kafkajs's `RequestQueue.scheduleCheckPendingRequests` arms a timer for
 * `throttledUntil - Date.now()` ms even when nothing is pending and nothing is throttled; `throttledUntil`
 * is then -1, so the delay is about minus the Unix time in ms. Node clamps a negative delay to 1 ms, so
 * every idle connection wakes up each millisecond to find nothing to do and arm the timer again; and since
 * Node 24 each such timer also prints a `TimeoutNegativeWarning` into the application's log. kafkajs 2.2.4
 * is its latest release, so the fix lives here.
 *
 * The replacement arms the timer only when requests are waiting: for the rest of a client-side throttle, or
 * the 10 ms kafkajs polls at while its in-flight limit is reached. Nothing else changes: a request that
 * cannot be sent at once still schedules the check when it is queued, and responses still drain the queue.
 */
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';

/** How often kafkajs re-checks a queue held back by `maxInFlightRequests` (its CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_MS = 10;

const FIXED = Symbol.for('kafka-nest:kafkajs-request-queue-fixed');

/** Replaces `RequestQueue.prototype.scheduleCheckPendingRequests` (once per process). */
export function fixKafkajsRequestQueue(): void {
  const proto = RequestQueue.prototype as RequestQueue & { [FIXED]?: true };
  if (proto[FIXED]) return;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledFor = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledFor > 0 ? throttledFor : CHECK_PENDING_MS,
    );
  };
  proto[FIXED] = true;
}
