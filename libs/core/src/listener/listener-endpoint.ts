import type { TransactionalProducers } from '../producer/kafka-transactions.js';
import type { KafkaObserver } from '../metrics/kafka-observer.js';
import type { CommonErrorHandler } from '../error-handling/common-error-handler.js';
import type { KafkaClientOptions, KafkaTransport } from '../transport/kafka-transport.js';
import type { AckMode } from './ack-mode.js';
import type { ConsumedRecord } from './consumed-record.js';
import type { ResolvedConsumerProperties } from './consumer-properties.js';
import type { DeserializerFn } from './deserializers.js';
import type { ListenerInvocation } from './kafka-params.factory.js';

/** A `@KafkaListener` after validation, with everything its container needs. Internal. */
export interface ListenerEndpoint {
  readonly id: string;
  readonly groupId: string;
  /** `Class.method`, for messages. */
  readonly listener: string;
  readonly topics?: readonly string[];
  readonly topicPattern?: RegExp;
  readonly concurrency: number;
  readonly batch: boolean;
  readonly autoStartup: boolean;
  readonly fromBeginning: boolean;
  readonly ackMode: AckMode;
  readonly syncCommits: boolean;
  readonly properties: ResolvedConsumerProperties;
  readonly valueDeserializer: DeserializerFn;
  readonly keyDeserializer: DeserializerFn;
  readonly errorHandler: CommonErrorHandler;
  /**
   * When a record may be delivered, in ms since the epoch (undefined: at once). A record not yet due is not
   * delivered: its partition is paused, sought back to it and resumed when it is due (retry topics).
   */
  readonly notBefore?: (record: ConsumedRecord) => number | undefined;
  /**
   * Calls the method through Nest's pipes, guards, interceptors and filters (or straight, when none
   * applies); returns what the method returned (a value, a promise or an Observable) and throws what it threw.
   */
  readonly invoke: (payload: unknown, ctx: unknown, invocation: ListenerInvocation) => unknown;
}

/** Shared by the containers of one application. Internal. */
export interface ContainerEnvironment {
  readonly client: KafkaClientOptions;
  readonly transport: KafkaTransport;
  readonly shutdownTimeoutMs: number;
  /**
   * How long a consumer may wait at start-up for its group to admit it (see `group-admission.ts`);
   * undefined: `defaultStartupTimeoutMs(session.timeout.ms)`.
   */
  readonly startupTimeoutMs?: number;
  /** Told what the containers do (metrics); absent unless metrics are enabled. */
  readonly observer?: KafkaObserver;
  /** The transactional producers, when `transactionIdPrefix` is set: every delivery then runs in a transaction. */
  readonly transactions?: () => TransactionalProducers;
}
