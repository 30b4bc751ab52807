/**
 * Back-off policies: how long to wait before each redelivery of a failed record, and when to give up
 * (Spring's `org.springframework.util.backoff`). A `BackOff` is a stateless description; `start()` gives
 * the stateful `BackOffExecution` used for one failed record.
 */
import { ErrorHandlingConfigurationError } from './error-handling.errors.js';

/** Returned by `BackOffExecution.nextBackOff()` when no further attempt should be made (Spring's `STOP`). */
export const STOP = -1;

/** One run of a back-off policy, for one failed record (Spring's `BackOffExecution`). */
export interface BackOffExecution {
  /** The delay in ms before the next redelivery, or `STOP` (-1) when retries are exhausted. */
  nextBackOff(): number;
}

/** A back-off policy (Spring's `BackOff`). */
export interface BackOff {
  /** Starts a fresh execution: the policy's state for one failed record. */
  start(): BackOffExecution;
}

function requireInterval(owner: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ErrorHandlingConfigurationError(
      `${owner}: ${name} must be a finite number of milliseconds >= 0, got ${String(value)}; pass e.g. 1000 for one second`,
      `${owner}.${name}`,
      value,
    );
  }
}

function requireCount(owner: string, name: string, value: number): void {
  if (typeof value !== 'number' || !(value === Infinity || (Number.isInteger(value) && value >= 0))) {
    throw new ErrorHandlingConfigurationError(
      `${owner}: ${name} must be a whole number >= 0 (or Infinity for no limit), got ${String(value)}`,
      `${owner}.${name}`,
      value,
    );
  }
}

/**
 * A fixed delay between redeliveries, with a bounded number of retries (Spring's `FixedBackOff`).
 *
 * `maxAttempts` counts retries after the first delivery: `new FixedBackOff(1000, 2)` means three deliveries
 * in all, one second apart.
 *
 * @default intervalMs 5000 ms, maxAttempts unlimited (Spring's `FixedBackOff` defaults; note that
 * `DefaultErrorHandler` defaults to `new FixedBackOff(0, 9)` instead).
 */
export class FixedBackOff implements BackOff {
  /** Spring's `FixedBackOff.DEFAULT_INTERVAL`. */
  static readonly DEFAULT_INTERVAL = 5000;
  /** Spring's `FixedBackOff.UNLIMITED_ATTEMPTS`. */
  static readonly UNLIMITED_ATTEMPTS = Infinity;

  constructor(
    readonly intervalMs: number = FixedBackOff.DEFAULT_INTERVAL,
    readonly maxAttempts: number = FixedBackOff.UNLIMITED_ATTEMPTS,
  ) {
    requireInterval('FixedBackOff', 'intervalMs', intervalMs);
    requireCount('FixedBackOff', 'maxAttempts', maxAttempts);
  }

  start(): BackOffExecution {
    let attempts = 0;
    return {
      nextBackOff: () => {
        if (attempts >= this.maxAttempts) return STOP;
        attempts++;
        return this.intervalMs;
      },
    };
  }

  toString(): string {
    return `FixedBackOff{interval=${this.intervalMs}, maxAttempts=${this.maxAttempts}}`;
  }
}

/** Options of `ExponentialBackOff`; every one is optional. */
export interface ExponentialBackOffOptions {
  /** The first delay, in ms. @default 2000 */
  readonly initialInterval?: number;
  /**
   * Each delay is the previous one times this (>= 1), truncated to whole ms as Spring's `long` arithmetic
   * does. @default 1.5
   */
  readonly multiplier?: number;
  /** No computed delay exceeds this, in ms. @default 30000 */
  readonly maxInterval?: number;
  /**
   * Give up once the sum of the delays handed out reaches this, in ms (Spring's `maxElapsedTime`: the sum of
   * back-offs, not wall-clock time). @default unlimited
   */
  readonly maxElapsedTime?: number;
  /** Give up after this many retries (Spring 6.1's `maxAttempts`). @default unlimited */
  readonly maxRetries?: number;
  /**
   * Random extra delay, as a fraction of the computed one: each delay is lengthened by up to
   * `jitter × delay` (0 to 1). It is only ever added, so the configured delays remain minimums. @default 0
   */
  readonly jitter?: number;
  /** Source of randomness for the jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Delays that grow by a multiplier up to a ceiling (Spring's `ExponentialBackOff`): with the defaults,
 * 2000, 3000, 4500, 6750, 10125, 15187, 22780 ms, then 30000 ms, forever unless `maxElapsedTime` or
 * `maxRetries` is set. As in Spring, each delay is `(long) (previous * multiplier)`: truncated to whole ms
 * at every step, so 10125 × 1.5 gives 15187, not 15187.5 rounded.
 */
export class ExponentialBackOff implements BackOff {
  /** @default 2000 ms (Spring's `DEFAULT_INITIAL_INTERVAL`) */
  readonly initialInterval: number;
  /** @default 1.5 (Spring's `DEFAULT_MULTIPLIER`) */
  readonly multiplier: number;
  /** @default 30000 ms (Spring's `DEFAULT_MAX_INTERVAL`) */
  readonly maxInterval: number;
  /** @default unlimited */
  readonly maxElapsedTime: number;
  /** @default unlimited */
  readonly maxRetries: number;
  /** @default 0 */
  readonly jitter: number;
  private readonly random: () => number;

  constructor(options: ExponentialBackOffOptions = {}) {
    this.initialInterval = options.initialInterval ?? 2000;
    this.multiplier = options.multiplier ?? 1.5;
    this.maxInterval = options.maxInterval ?? 30_000;
    this.maxElapsedTime = options.maxElapsedTime ?? Infinity;
    this.maxRetries = options.maxRetries ?? Infinity;
    this.jitter = options.jitter ?? 0;
    this.random = options.random ?? Math.random;

    requireInterval('ExponentialBackOff', 'initialInterval', this.initialInterval);
    requireInterval('ExponentialBackOff', 'maxInterval', this.maxInterval);
    if (typeof this.multiplier !== 'number' || !Number.isFinite(this.multiplier) || this.multiplier < 1) {
      throw new ErrorHandlingConfigurationError(
        `ExponentialBackOff: multiplier must be a finite number >= 1 (1 gives a fixed delay), got ${String(this.multiplier)}`,
        'ExponentialBackOff.multiplier',
        this.multiplier,
      );
    }
    if (this.maxInterval < this.initialInterval) {
      throw new ErrorHandlingConfigurationError(
        `ExponentialBackOff: maxInterval (${this.maxInterval}) must not be below initialInterval (${this.initialInterval}); raise maxInterval or lower initialInterval`,
        'ExponentialBackOff.maxInterval',
        this.maxInterval,
      );
    }
    if (typeof this.maxElapsedTime !== 'number' || Number.isNaN(this.maxElapsedTime) || this.maxElapsedTime < 0) {
      throw new ErrorHandlingConfigurationError(
        `ExponentialBackOff: maxElapsedTime must be a number of milliseconds >= 0 (or omitted for no limit), got ${String(this.maxElapsedTime)}`,
        'ExponentialBackOff.maxElapsedTime',
        this.maxElapsedTime,
      );
    }
    requireCount('ExponentialBackOff', 'maxRetries', this.maxRetries);
    if (typeof this.jitter !== 'number' || !(this.jitter >= 0 && this.jitter <= 1)) {
      throw new ErrorHandlingConfigurationError(
        `ExponentialBackOff: jitter must be a fraction between 0 and 1 (0.1 adds up to 10% to each delay), got ${String(this.jitter)}`,
        'ExponentialBackOff.jitter',
        this.jitter,
      );
    }
  }

  start(): BackOffExecution {
    let current = -1;
    let elapsed = 0;
    let attempts = 0;
    return {
      nextBackOff: () => {
        if (elapsed >= this.maxElapsedTime || attempts >= this.maxRetries) return STOP;
        // Spring's ExponentialBackOffExecution: `long i = current; i *= multiplier; min(i, maxInterval)`.
        current = current < 0 ? this.initialInterval : Math.min(Math.trunc(current * this.multiplier), this.maxInterval);
        // Rounded up (minus float noise) so that jitter never makes a delay shorter than the computed one.
        const delay = Math.ceil(current + (this.jitter > 0 ? this.random() * this.jitter * current : 0) - 1e-9);
        attempts++;
        elapsed += delay;
        return delay;
      },
    };
  }

  toString(): string {
    return (
      `ExponentialBackOff{initialInterval=${this.initialInterval}, multiplier=${this.multiplier}, ` +
      `maxInterval=${this.maxInterval}, maxElapsedTime=${this.maxElapsedTime}, maxRetries=${this.maxRetries}, jitter=${this.jitter}}`
    );
  }
}

/**
 * An `ExponentialBackOff` bounded by a number of retries rather than by elapsed time (Spring Kafka's
 * `ExponentialBackOffWithMaxRetries`): `new ExponentialBackOffWithMaxRetries(3, { initialInterval: 1000,
 * multiplier: 2 })` retries after 1000, 2000 and 4000 ms, then gives up (4 deliveries in all). Spring
 * computes a `maxElapsedTime` from the retries and refuses one given; here the retry count stops the
 * back-off directly (exact with `jitter` too), and giving `maxElapsedTime` or `maxRetries` in the options is
 * refused the same way.
 *
 * @default the `ExponentialBackOff` defaults: initialInterval 2000 ms, multiplier 1.5, maxInterval 30000 ms
 */
export class ExponentialBackOffWithMaxRetries extends ExponentialBackOff {
  constructor(maxRetries: number, options: Omit<ExponentialBackOffOptions, 'maxRetries' | 'maxElapsedTime'> = {}) {
    for (const name of ['maxElapsedTime', 'maxRetries'] as const) {
      if ((options as ExponentialBackOffOptions)[name] !== undefined) {
        throw new ErrorHandlingConfigurationError(
          `ExponentialBackOffWithMaxRetries: '${name}' is set by the maxRetries argument (${String(maxRetries)}); remove it from the options, or use ExponentialBackOff`,
          `ExponentialBackOffWithMaxRetries.${name}`,
          (options as ExponentialBackOffOptions)[name],
        );
      }
    }
    if (typeof maxRetries !== 'number' || !Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new ErrorHandlingConfigurationError(
        `ExponentialBackOffWithMaxRetries: maxRetries must be a whole number >= 0, got ${String(maxRetries)}`,
        'ExponentialBackOffWithMaxRetries.maxRetries',
        maxRetries,
      );
    }
    super({ ...options, maxRetries });
  }

  override toString(): string {
    return `ExponentialBackOffWithMaxRetries{maxRetries=${this.maxRetries}, initialInterval=${this.initialInterval}, multiplier=${this.multiplier}, maxInterval=${this.maxInterval}, jitter=${this.jitter}}`;
  }
}
