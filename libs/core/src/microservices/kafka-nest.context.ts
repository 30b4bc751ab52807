import { KafkaContext as NestKafkaContext } from '@nestjs/microservices';
import { KafkaNestError } from '../kafka.errors.js';
import type { Acknowledgment } from '../listener/acknowledgment.js';
import type { KafkaContext } from '../listener/kafka-context.js';

/** The message as `@nestjs/microservices`' Kafka transport hands it to `KafkaContext.getMessage()`. */
export interface NestKafkaMessage {
  /** The key, decoded as Nest decodes it (UTF-8, JSON when it looks like JSON), or null. */
  key: unknown;
  /** The value, decoded as Nest decodes it (or the raw Buffer with `parser.keepBinary`). */
  value: unknown;
  /** Header values decoded as Nest decodes them. */
  headers: Record<string, unknown>;
  /** The offset as a decimal string (kafkajs's type). */
  offset: string;
  /** Milliseconds since the epoch, as a decimal string (kafkajs's type). */
  timestamp: string;
  topic: string;
  partition: number;
  /** The record's attributes byte as kafkajs reports it; always 0 here (compression and timestamp type are the client's business). */
  attributes: number;
}

/**
 * The `@Ctx()` of an `@EventPattern` / `@MessagePattern` handler served by `KafkaNestServer`: Nest's own
 * `KafkaContext` (an `instanceof` check against `@nestjs/microservices`' class holds), with the methods
 * that have a meaning under a kafka-nest container:
 * - `getMessage()`, `getPartition()`, `getTopic()` as under Nest's transport;
 * - `getHeartbeat()` resolves at once: the container sends heartbeats while a handler runs;
 * - `getConsumer()` and `getProducer()` throw a `KafkaNestError` saying what to use instead (the consumer
 *   belongs to the container, which commits; replies and sends go through `KafkaTemplate`);
 * - plus `getKafkaContext()` (kafka-nest's context: delivery attempt, raw record, group) and
 *   `getAcknowledgment()` (for `AckMode.MANUAL` / `MANUAL_IMMEDIATE`).
 */
export class KafkaNestContext extends NestKafkaContext {
  constructor(
    /** The message, or a function making it when first asked for (most handlers never ask). */
    message: NestKafkaMessage | (() => NestKafkaMessage),
    private readonly kafka: KafkaContext,
    private readonly ack: Acknowledgment,
  ) {
    const args: unknown[] = [typeof message === 'function' ? undefined : message, kafka.partition, kafka.topic, undefined, heartbeat, undefined];
    // Nest types the consumer and producer slots; getConsumer() and getProducer() never read them.
    super(args as unknown as ConstructorParameters<typeof NestKafkaContext>[0]);
    if (typeof message === 'function') this.makeMessage = message;
  }

  private makeMessage: (() => NestKafkaMessage) | undefined;

  /** The arguments of Nest's context, the message made if it was not yet. */
  override getArgs(): ConstructorParameters<typeof NestKafkaContext>[0] {
    const make = this.makeMessage;
    if (make) {
      this.makeMessage = undefined;
      (this.args as unknown as unknown[])[0] = make();
    }
    return this.args;
  }

  override getArgByIndex(index: number): unknown {
    return this.getArgs()[index as 0];
  }

  override getMessage(): ReturnType<NestKafkaContext['getMessage']> {
    return this.getArgs()[0];
  }

  override getConsumer(): never {
    throw new KafkaNestError(
      `KafkaContext.getConsumer() is not available under KafkaNestServer: the listener container owns the consumer and commits for it. ` +
        `Commit manually with ackMode MANUAL and ctx.getAcknowledgment().acknowledge(); pause and resume with KafkaListenerEndpointRegistry ('${this.kafka.listenerId}')`,
    );
  }

  override getProducer(): never {
    throw new KafkaNestError(
      `KafkaContext.getProducer() is not available under KafkaNestServer; inject KafkaTemplate and send with it (a @MessagePattern handler's return value is already published as its reply)`,
    );
  }

  /** kafka-nest's context of the record: delivery attempt, raw key/value/headers, group and listener id. */
  getKafkaContext(): KafkaContext {
    return this.kafka;
  }

  /** Acknowledges the record in `AckMode.MANUAL` / `MANUAL_IMMEDIATE` (a no-op in the other modes). */
  getAcknowledgment(): Acknowledgment {
    return this.ack;
  }
}

/** The container heartbeats while a handler runs; a handler asking for one has nothing to wait for. */
function heartbeat(): Promise<void> {
  return Promise.resolve();
}
