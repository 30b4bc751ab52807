import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';
import type { DeadLetterReplaySettings } from './dead-letters/dead-letter-replayer.js';
import type { AckMode } from './listener/ack-mode.js';
import type { KafkaMetricsOptions } from './metrics/kafka-metrics.js';
import type { ConsumerProperties } from './listener/consumer-properties.js';
import type { Deserializer } from './listener/deserializers.js';
import type { RetryableTopicOptions } from './retry-topic/retry-topic-configuration.js';
import type { KafkaClientOptions, KafkaTransport } from './transport/kafka-transport.js';

/** Settings of `KafkaTemplate`'s producer. */
export interface KafkaProducerOptions {
  /** Topic of `sendDefault`. @default none (sendDefault then throws) */
  defaultTopic?: string;
  /** -1 (all in-sync replicas), 1 (leader) or 0 (none). @default -1 */
  acks?: -1 | 0 | 1;
  /** Idempotent producer. @default false */
  idempotent?: boolean;
  /** Let a send create a missing topic (if the broker allows it). @default true */
  allowAutoTopicCreation?: boolean;
  /** Time the broker may take to acknowledge (kafkajs `timeout`). @default kafkajs's, 30000 */
  timeoutMs?: number;
  /**
   * With `transactionIdPrefix`: let `send` outside a transaction go through a plain (non-transactional)
   * producer instead of being refused. Spring's `KafkaTemplate.setAllowNonTransactional`. @default false
   */
  allowNonTransactional?: boolean;
  /**
   * With `transactionIdPrefix`: the broker aborts a transaction left open longer than this and fences its
   * producer (`transaction.timeout.ms`). @default 60000 (kafkajs's and Kafka's)
   */
  transactionTimeoutMs?: number;
}

/** Options of `KafkaModule.forRoot`. */
export interface KafkaModuleOptions {
  /** Where and how to connect; ssl and sasl pass through to kafkajs. */
  client: KafkaClientOptions;
  /** Consumer settings of every listener, by their Kafka names; a listener's own `properties` override them. */
  properties?: ConsumerProperties;
  /** Value deserializer of every listener unless it names one. @default 'json' */
  deserializer?: Deserializer;
  /** Key deserializer of every listener unless it names one. @default 'string' */
  keyDeserializer?: Deserializer;
  /** Ack mode of every listener unless it names one. @default AckMode.BATCH */
  ackMode?: AckMode;
  /** Commit synchronously unless a listener says otherwise. @default true */
  syncCommits?: boolean;
  /** Error handler (DI token) of every listener that names none. @default a `DefaultErrorHandler` per listener */
  errorHandler?: InjectionToken;
  /** Defaults of every `@RetryableTopic` (its own options win). @default the defaults of `RetryableTopicOptions` */
  retryTopic?: RetryableTopicOptions;
  /** `KafkaTemplate` settings. */
  producer?: KafkaProducerOptions;
  /**
   * Turns transactions on (Spring's `transactionIdPrefix`): `KafkaTemplate` sends only inside a transaction
   * (`executeInTransaction`, or a transactional listener's delivery), listener containers run each delivery in
   * a transaction that also commits the consumed offsets, and listeners read `read_committed` by default.
   * Producers get `transactional.id`s starting with it, so it must be unique per application (instances of one
   * application share it: that is how a restarted instance fences the previous one). See docs/transactions.md.
   * @default none (no transactions)
   */
  transactionIdPrefix?: string;
  /** How long `app.close()` waits for handlers in flight. @default 10000 */
  shutdownTimeoutMs?: number;
  /**
   * How long each listener consumer may wait at start-up for its group to admit it. Group errors that pass
   * (a request to the group coordinator timing out, `REBALANCE_IN_PROGRESS`, `NOT_COORDINATOR`...) are
   * retried until then, with a log line saying what the consumer waits for: after a crash, the previous
   * instance's members hold their places until their session times out. Keep it above
   * `session.timeout.ms`. (No Spring counterpart: a Spring container polls on in the background.)
   * @default twice the listener's `session.timeout.ms`, at least 60000 (90000 with the default 45 s session)
   */
  startupTimeoutMs?: number;
  /**
   * Prometheus metrics (prom-client): `true` registers them on prom-client's default registry, or give
   * `{ registry, prefix }`. See `KafkaMetrics` for the list. @default off
   */
  metrics?: boolean | KafkaMetricsOptions;
  /** Settings of the injectable `DeadLetterReplayer` (max replays, parking topic, replay group). @default its defaults */
  deadLetters?: DeadLetterReplaySettings;
  /** The Kafka client behind kafka-nest. @default new KafkajsTransport() */
  transport?: KafkaTransport;
}

/** Options of `KafkaModule.forRootAsync`. */
export interface KafkaModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: any[]) => KafkaModuleOptions | Promise<KafkaModuleOptions>;
}
