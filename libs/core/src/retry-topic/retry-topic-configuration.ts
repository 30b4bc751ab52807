/**
 * Options of `@RetryableTopic` (Spring Kafka's `@RetryableTopic` attributes), their defaults and validation,
 * and the topic chain they describe: main topic → retry topics → dead-letter topic.
 */
import { type BackOff, ExponentialBackOff, FixedBackOff, STOP } from '../error-handling/back-off.js';
import { topicNameProblem } from '../error-handling/dead-letter-publishing-recoverer.js';
import { type ErrorClass, ExceptionClassifier } from '../error-handling/exception-classifier.js';

/** What happens around the dead-letter topic. Spring Kafka's `DltStrategy`. */
export enum DltStrategy {
  /** A DLT and its listener; a record whose DLT handler fails is published to the DLT again (unless the error is not retryable). The default. */
  ALWAYS_RETRY_ON_ERROR = 'ALWAYS_RETRY_ON_ERROR',
  /** A DLT and its listener; a record whose DLT handler fails is logged and committed. */
  FAIL_ON_ERROR = 'FAIL_ON_ERROR',
  /** No DLT: a record whose retries are exhausted (or whose error is not retryable) is logged and committed. */
  NO_DLT = 'NO_DLT',
}

/** How retry topics are named. Spring Kafka's `TopicSuffixingStrategy`. */
export enum TopicSuffixingStrategy {
  /** `<topic>-retry-<delay ms>`: `payments-retry-1000`, `payments-retry-2000`. The default. */
  SUFFIX_WITH_DELAY_VALUE = 'SUFFIX_WITH_DELAY_VALUE',
  /** `<topic>-retry-<index>`: `payments-retry-0`, `payments-retry-1`. */
  SUFFIX_WITH_INDEX_VALUE = 'SUFFIX_WITH_INDEX_VALUE',
}

/** Whether retries with the same delay share one topic. Spring Kafka's `SameIntervalTopicReuseStrategy`. */
export enum SameIntervalTopicReuseStrategy {
  /**
   * One topic for the retries with the same delay: with a fixed delay, a single `<topic>-retry`; with an
   * exponential back-off, the last topic (the one at `maxDelay`) serves every retry at that delay. The default.
   */
  SINGLE_TOPIC = 'SINGLE_TOPIC',
  /** A topic per retry: `-retry-0`, `-retry-1` for a fixed delay, `-retry-4000-0`, `-retry-4000-1` at `maxDelay`. */
  MULTIPLE_TOPICS = 'MULTIPLE_TOPICS',
}

/** The delays between attempts. Spring's `@Backoff`. */
export interface RetryTopicBackOffOptions {
  /** The delay before the first retry, in ms (0: retry at once). @default 1000 */
  delay?: number;
  /** Each delay is the previous one times this; 1 gives a fixed delay. Must be at least 1. @default 1 (fixed) */
  multiplier?: number;
  /**
   * The ceiling of the delays when `multiplier` is above 1, and the upper bound of a random fixed delay.
   * @default 30000 (spring-retry's), or `delay` if larger
   */
  maxDelay?: number;
  /**
   * Randomize each delay, never below the configured one: with a multiplier, between the computed delay and
   * that delay times the multiplier (Spring's `ExponentialRandomBackOffPolicy`); with a fixed delay and a
   * `maxDelay` above it, uniformly between the two (`UniformRandomBackOffPolicy`). Topics are named by the
   * configured delays. @default false
   */
  random?: boolean;
}

/**
 * Options of `@RetryableTopic`, and of `KafkaModule.forRoot({ retryTopic })`, which gives every
 * `@RetryableTopic` its defaults (a listener's own options win; `backoff` is merged field by field).
 */
export interface RetryableTopicOptions {
  /** Deliveries in all, counting the first one on the main topic: 3 means the main topic and two retries. @default 3 */
  attempts?: number;
  /** Delays between attempts. @default `{ delay: 1000 }`: a fixed second */
  backoff?: RetryTopicBackOffOptions;
  /**
   * Only errors of these classes (or with one in their cause chain) are retried; every other error goes
   * straight to the DLT. Give this or `exclude`, not both. @default every error but the `ExceptionClassifier`
   * defaults (`DeserializationError`, `BadRequestException`, `TypeError`, `ReferenceError`)
   */
  include?: ErrorClass[];
  /** Errors of these classes (or with one in their cause chain) go straight to the DLT. @default none besides the defaults */
  exclude?: ErrorClass[];
  /** Appended to the main topic's name to name retry topics. @default '-retry' */
  retryTopicSuffix?: string;
  /** Appended to the main topic's name to name the dead-letter topic. @default '-dlt' */
  dltTopicSuffix?: string;
  /** @default TopicSuffixingStrategy.SUFFIX_WITH_DELAY_VALUE */
  topicSuffixingStrategy?: TopicSuffixingStrategy;
  /** @default SameIntervalTopicReuseStrategy.SINGLE_TOPIC */
  sameIntervalTopicReuseStrategy?: SameIntervalTopicReuseStrategy;
  /** @default DltStrategy.ALWAYS_RETRY_ON_ERROR */
  dltStrategy?: DltStrategy;
  /** Create the main, retry and dead-letter topics, if missing, when the listeners start. @default true */
  autoCreateTopics?: boolean;
  /**
   * Partitions of the topics created. A record goes to the same partition of the next topic when it has
   * one, else the producer places it by key. @default 1 (Spring 3 leaves it to the broker's `num.partitions`,
   * which is 1 unless changed)
   */
  numPartitions?: number;
  /** Consumers of each retry and dead-letter listener. @default the main listener's `concurrency` */
  concurrency?: number;
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_DELAY = 1000;
/** spring-retry's `ExponentialBackOffPolicy.DEFAULT_MAX_INTERVAL`. */
const DEFAULT_MAX_DELAY = 30_000;

/** `@RetryableTopic` options after defaults and validation. Internal. */
export interface RetryTopicConfiguration {
  readonly attempts: number;
  /** Delay (ms) before attempt `i + 2`, for each retry `i`; topics are named by these. */
  readonly delays: readonly number[];
  /** Suffix of the topic of retry `i` (the same suffix repeated where a topic is reused). */
  readonly retrySuffixes: readonly string[];
  /** Suffix of the dead-letter topic; undefined with `DltStrategy.NO_DLT`. */
  readonly dltSuffix: string | undefined;
  readonly dltStrategy: DltStrategy;
  readonly classifier: ExceptionClassifier;
  readonly autoCreateTopics: boolean;
  readonly numPartitions: number;
  readonly concurrency: number | undefined;
  /** The delay to apply before retry `i`: `delays[i]`, randomized when `random` is set. */
  delayFor(i: number): number;
}

function enumValue<T extends string>(values: Record<string, T>, given: unknown, fallback: T, name: string, problem: (m: string) => Error): T {
  if (given === undefined) return fallback;
  if (!(Object.values(values) as unknown[]).includes(given)) {
    throw problem(`'${name}' must be one of ${Object.values(values).join(', ')}, got ${JSON.stringify(given)}`);
  }
  return given as T;
}

function checkNumber(value: unknown, name: string, rule: string, ok: (n: number) => boolean, problem: (m: string) => Error): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || !ok(value))) {
    throw problem(`'${name}' must be ${rule}, got ${String(value)}`);
  }
}

function checkClasses(value: unknown, name: string, problem: (m: string) => Error): ErrorClass[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'function')) {
    throw problem(`'${name}' must be an array of error classes, e.g. [PaymentDeclinedError]`);
  }
  return value as ErrorClass[];
}

function backOffDelays(backOff: BackOff, count: number): number[] {
  const execution = backOff.start();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = execution.nextBackOff();
    out.push(next === STOP ? 0 : next);
  }
  return out;
}

/**
 * The suffix of each retry's topic, as Spring Kafka's `DestinationTopicPropertiesFactory` names them: one
 * topic `-retry` when a single topic serves every retry; `-retry-<index>` for fixed delays on several topics
 * or index naming; otherwise `-retry-<delay>`, with `-<n>` added to topics of a repeated delay unless the
 * last topic is reused.
 */
function retryTopicSuffixes(delays: readonly number[], suffix: string, byIndex: boolean, reuse: boolean): string[] {
  const count = (d: number) => delays.filter((x) => x === d).length;
  const last = delays[delays.length - 1];
  // Repeated delays are always the last ones (the back-off reached maxDelay, or is fixed).
  const reused = reuse && delays.length > 1 ? count(last) - 1 : 0;
  const topics = delays.length - reused;
  const fixed = byIndex || (delays.length > 1 && new Set(delays).size === 1);
  const out: string[] = [];
  for (let i = 0; i < topics; i++) {
    if (reuse && topics === 1) out.push(suffix);
    else if (fixed) out.push(`${suffix}-${i}`);
    else if (!reuse && count(delays[i]) > 1) out.push(`${suffix}-${delays[i]}-${i - delays.indexOf(delays[i])}`);
    else out.push(`${suffix}-${delays[i]}`);
  }
  for (let i = topics; i < delays.length; i++) out.push(out[topics - 1]);
  return out;
}

/**
 * Resolves a listener's `@RetryableTopic` options over the module's defaults and validates them against its
 * main topics. `problem` makes the start-up error (naming the class and method).
 */
export function resolveRetryTopicConfiguration(
  own: RetryableTopicOptions,
  defaults: RetryableTopicOptions | undefined,
  mainTopics: readonly string[],
  problem: (message: string) => Error,
): RetryTopicConfiguration {
  if (own === null || typeof own !== 'object') throw problem(`the options must be an object, e.g. @RetryableTopic({ attempts: 4 })`);
  const o: RetryableTopicOptions = { ...defaults, ...own, backoff: { ...defaults?.backoff, ...own.backoff } };
  const b = o.backoff ?? {};

  const attempts = o.attempts ?? DEFAULT_ATTEMPTS;
  checkNumber(attempts, 'attempts', 'a whole number of at least 1 (deliveries in all, the first one included)', (n) => Number.isInteger(n) && n >= 1, problem);
  checkNumber(b.delay, 'backoff.delay', 'a number of milliseconds >= 0', (n) => n >= 0, problem);
  checkNumber(b.multiplier, 'backoff.multiplier', 'a number >= 1 (1 for a fixed delay, 2 to double it each time)', (n) => n >= 1, problem);
  checkNumber(b.maxDelay, 'backoff.maxDelay', 'a number of milliseconds >= 0', (n) => n >= 0, problem);
  checkNumber(o.numPartitions, 'numPartitions', 'a whole number of at least 1', (n) => Number.isInteger(n) && n >= 1, problem);
  checkNumber(o.concurrency, 'concurrency', 'a whole number of at least 1', (n) => Number.isInteger(n) && n >= 1, problem);
  if (b.random !== undefined && typeof b.random !== 'boolean') throw problem(`'backoff.random' must be true or false, got ${JSON.stringify(b.random)}`);
  if (o.autoCreateTopics !== undefined && typeof o.autoCreateTopics !== 'boolean') {
    throw problem(`'autoCreateTopics' must be true or false, got ${JSON.stringify(o.autoCreateTopics)}`);
  }

  const delay = b.delay ?? DEFAULT_DELAY;
  const multiplier = b.multiplier ?? 1;
  const exponential = multiplier > 1;
  if (exponential && b.maxDelay !== undefined && b.maxDelay < delay) {
    throw problem(`'backoff.maxDelay' (${b.maxDelay}) is below 'backoff.delay' (${delay}); raise maxDelay or lower delay`);
  }
  const maxDelay = b.maxDelay ?? Math.max(DEFAULT_MAX_DELAY, delay);
  const retries = attempts - 1;
  const delays = backOffDelays(
    exponential ? new ExponentialBackOff({ initialInterval: delay, multiplier, maxInterval: maxDelay, maxRetries: retries }) : new FixedBackOff(delay, retries),
    retries,
  );

  const include = checkClasses(o.include, 'include', problem);
  const exclude = checkClasses(o.exclude, 'exclude', problem);
  if (include && exclude) throw problem(`give 'include' (only these errors are retried) or 'exclude' (these are not), not both`);
  const classifier = new ExceptionClassifier();
  if (include) {
    classifier.defaultFalse();
    classifier.addRetryableErrors(...include);
  }
  if (exclude) classifier.addNotRetryableErrors(...exclude);

  const retrySuffix = o.retryTopicSuffix ?? '-retry';
  const dltSuffixOption = o.dltTopicSuffix ?? '-dlt';
  for (const [name, value] of [['retryTopicSuffix', retrySuffix], ['dltTopicSuffix', dltSuffixOption]] as const) {
    if (typeof value !== 'string' || value === '') throw problem(`'${name}' must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (retrySuffix === dltSuffixOption) throw problem(`'retryTopicSuffix' and 'dltTopicSuffix' are both '${retrySuffix}'; give them different values`);

  const dltStrategy = enumValue(DltStrategy, o.dltStrategy, DltStrategy.ALWAYS_RETRY_ON_ERROR, 'dltStrategy', problem);
  const byIndex =
    enumValue(TopicSuffixingStrategy, o.topicSuffixingStrategy, TopicSuffixingStrategy.SUFFIX_WITH_DELAY_VALUE, 'topicSuffixingStrategy', problem) ===
    TopicSuffixingStrategy.SUFFIX_WITH_INDEX_VALUE;
  const reuse =
    enumValue(SameIntervalTopicReuseStrategy, o.sameIntervalTopicReuseStrategy, SameIntervalTopicReuseStrategy.SINGLE_TOPIC, 'sameIntervalTopicReuseStrategy', problem) ===
    SameIntervalTopicReuseStrategy.SINGLE_TOPIC;
  const retrySuffixes = retryTopicSuffixes(delays, retrySuffix, byIndex, reuse);
  const dltSuffix = dltStrategy === DltStrategy.NO_DLT ? undefined : dltSuffixOption;

  for (const main of mainTopics) {
    for (const suffix of new Set([...retrySuffixes, ...(dltSuffix ? [dltSuffix] : [])])) {
      const topicProblem = topicNameProblem(`${main}${suffix}`);
      if (topicProblem) {
        const option = suffix === dltSuffix ? 'dltTopicSuffix' : 'retryTopicSuffix';
        throw problem(`'${option}' makes an invalid topic name for '${main}': ${topicProblem}; use ASCII letters, digits, '.', '_' and '-', and keep the whole name within 249 characters`);
      }
    }
  }

  const randomize = b.random === true;
  const delayFor = (i: number): number => {
    const base = delays[i] ?? 0;
    if (!randomize) return base;
    if (exponential) return Math.ceil(base * (1 + Math.random() * (multiplier - 1)));
    return b.maxDelay !== undefined && b.maxDelay > base ? Math.ceil(base + Math.random() * (b.maxDelay - base)) : base;
  };

  return {
    attempts,
    delays,
    retrySuffixes,
    dltSuffix,
    dltStrategy,
    classifier,
    autoCreateTopics: o.autoCreateTopics ?? true,
    numPartitions: o.numPartitions ?? 1,
    concurrency: o.concurrency,
    delayFor,
  };
}

/** Where a consumed record of a chain comes from. */
export type ChainSource = { readonly kind: 'main' | 'retry' | 'dlt'; readonly main: string };

/** The topics of one `@RetryableTopic` listener: its main topics, each with its retry topics and DLT. Internal. */
export class RetryTopicChain {
  /** The distinct retry suffixes, in the order of the retries. */
  readonly retrySuffixes: readonly string[];
  private readonly sources = new Map<string, ChainSource>();

  constructor(
    readonly mainTopics: readonly string[],
    readonly config: RetryTopicConfiguration,
  ) {
    this.retrySuffixes = [...new Set(config.retrySuffixes)];
    for (const main of mainTopics) {
      this.sources.set(main, { kind: 'main', main });
      for (const suffix of this.retrySuffixes) this.sources.set(`${main}${suffix}`, { kind: 'retry', main });
      if (config.dltSuffix) this.sources.set(`${main}${config.dltSuffix}`, { kind: 'dlt', main });
    }
  }

  /** Which main topic a topic of the chain belongs to, and in which role; undefined for a stranger. */
  sourceOf(topic: string): ChainSource | undefined {
    return this.sources.get(topic);
  }

  /** The main topic, its retry topics and its DLT, each once. */
  topicsOf(main: string): string[] {
    return [main, ...this.retrySuffixes.map((s) => `${main}${s}`), ...(this.config.dltSuffix ? [`${main}${this.config.dltSuffix}`] : [])];
  }
}
