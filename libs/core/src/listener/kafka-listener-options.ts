import type { InjectionToken } from '@nestjs/common';
import type { AckMode } from './ack-mode.js';
import type { ConsumerProperties } from './consumer-properties.js';
import type { Deserializer } from './deserializers.js';

/** Options of `@KafkaListener`; mirrors the attributes of Spring Kafka's `@KafkaListener`. */
export interface KafkaListenerOptions {
  /**
   * Container id, unique in the application; used by `KafkaListenerEndpointRegistry`.
   * @default `'<Class>.<method>'` (with `#<n>` for the n-th further listener on the same method)
   */
  id?: string;
  /** Topics to consume. Give this or `topicPattern`. */
  topics?: string[];
  /** Topics to consume, by pattern; matched against the topics existing when the container starts (kafkajs subscribes once). */
  topicPattern?: RegExp;
  /** Consumer group. @default the listener `id`, as Spring's `idIsGroup = true` */
  groupId?: string;
  /** Consumers of the group run by this container, in this process. @default 1 */
  concurrency?: number;
  /** The method receives the records of a fetch (up to `max.poll.records`) as an array. @default false */
  batch?: boolean;
  /** Start with the application; otherwise start it through `KafkaListenerEndpointRegistry`. @default true */
  autoStartup?: boolean;
  /** Read from the start of partitions the group has no committed offset for; same as `'auto.offset.reset': 'earliest'`. @default false */
  fromBeginning?: boolean;
  /** Where to start without a committed offset; overrides `fromBeginning`. @default 'latest' */
  'auto.offset.reset'?: 'earliest' | 'latest';
  /** When offsets are committed. @default AckMode.BATCH (module `ackMode` if set) */
  ackMode?: AckMode;
  /**
   * Await each commit before going on (true), or send it and go on, logging a failure (false: faster, may
   * reprocess records after a crash, so listeners must be idempotent). @default true (module `syncCommits` if set)
   */
  syncCommits?: boolean;
  /** DI token of a `CommonErrorHandler`. @default the module's `errorHandler`, else `DefaultErrorHandler` (10 deliveries, no delay, then log and skip) */
  errorHandler?: InjectionToken;
  /** How values are read. @default the module's `deserializer`, else 'json' */
  deserializer?: Deserializer;
  /** How keys are read. @default the module's `keyDeserializer`, else 'string' */
  keyDeserializer?: Deserializer;
  /** Consumer settings by their Kafka names; each overrides the module's. */
  properties?: ConsumerProperties;
}

/** Every option name of `@KafkaListener`; the compiler keeps it in step with the interface. */
const LISTENER_OPTION_NAMES = Object.keys({
  id: true,
  topics: true,
  topicPattern: true,
  groupId: true,
  concurrency: true,
  batch: true,
  autoStartup: true,
  fromBeginning: true,
  'auto.offset.reset': true,
  ackMode: true,
  syncCommits: true,
  errorHandler: true,
  deserializer: true,
  keyDeserializer: true,
  properties: true,
} satisfies Record<keyof KafkaListenerOptions, true>);

/**
 * Refuses option names `@KafkaListener` does not know (`fromBegining`, `groupid`), which TypeScript catches
 * only when the code is type-checked: vitest and `nest start` with SWC run it unchecked. The message suggests
 * the option meant, or points a consumer property written at the top level into `properties`. Internal.
 */
export function checkListenerOptionNames(
  options: object,
  consumerProperties: readonly string[],
  suggest: (name: string, known: readonly string[]) => string | undefined,
  problem: (message: string) => Error,
): void {
  const unknown = Object.keys(options).filter((k) => !LISTENER_OPTION_NAMES.includes(k));
  if (unknown.length === 0) return;
  const hints = unknown.map((name) => {
    if (consumerProperties.includes(name)) return `'${name}' is a consumer property: put it in 'properties: { '${name}': ... }'`;
    const near = suggest(name, LISTENER_OPTION_NAMES) ?? (suggest(name, consumerProperties) && `properties: { '${suggest(name, consumerProperties)}' }`);
    return near ? `'${name}' (did you mean '${near}'?)` : `'${name}'`;
  });
  throw problem(
    `unknown option${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; @KafkaListener takes ${LISTENER_OPTION_NAMES.join(', ')}`,
  );
}
