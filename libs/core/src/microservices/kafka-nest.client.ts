/**
 * A `ClientProxy` for `ClientKafka` users: the same `send()` / `emit()` and wire format, with a reply
 * consumer that needs no special partition assignor.
 */
import { randomUUID } from 'node:crypto';
import {
  ClientProxy,
  KafkaParser,
  KafkaResponseDeserializer,
  type ProducerDeserializer,
  type ProducerSerializer,
  type ReadPacket,
  type WritePacket,
} from '@nestjs/microservices';
import { KafkaRequestSerializer } from '@nestjs/microservices/serializers/kafka-request.serializer.js';
import { KafkaConfigurationError, KafkaNestError } from '../kafka.errors.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { type ConsumerProperties, resolveConsumerProperties } from '../listener/consumer-properties.js';
import { KafkaReplyError } from '../request-reply/request-reply.errors.js';
import { ReplyHeaders } from '../request-reply/request-reply.headers.js';
import { ReplyConsumer } from '../request-reply/reply-consumer.js';
import type { KafkaClientOptions, KafkaTransport, TransportProducer } from '../transport/kafka-transport.js';
import { KafkajsTransport } from '../transport/kafkajs.transport.js';

/** Options of `KafkaNestClient`. */
export interface KafkaNestClientOptions {
  /** Where and how to connect (as `KafkaModule.forRoot({ client })`). */
  client: KafkaClientOptions;
  /** Settings of the reply consumer, by their Kafka names. */
  properties?: ConsumerProperties;
  /** Group of the reply consumer; each client instance should have its own. @default `<clientId>-replies-<random id>` */
  groupId?: string;
  /** As `ClientKafka`'s `serializer`. @default Nest's `KafkaRequestSerializer` */
  serializer?: ProducerSerializer;
  /** As `ClientKafka`'s `deserializer`. @default Nest's `KafkaResponseDeserializer` */
  deserializer?: ProducerDeserializer;
  /** The Kafka client library. @default new KafkajsTransport() */
  transport?: KafkaTransport;
}

/**
 * Sends requests and events as Nest's `ClientKafka` does: `send(pattern, data)` writes to the topic
 * `pattern` with `kafka_correlationId` and `kafka_replyTopic` (`<pattern>.reply`) headers and emits the
 * replies (the last one is marked `kafka_nest-is-disposed`; `kafka_nest-err` fails the observable);
 * `emit(pattern, data)` writes an event. Values are serialized as `ClientKafka` serializes them. Call
 * `subscribeToResponseOf(pattern)` for each pattern you `send()` to, before connecting.
 *
 * Differences from `ClientKafka`: the reply consumer is in a group of its own (one per client instance)
 * and reads every partition of the reply topics, so no `kafka_replyPartition` is sent, no custom partition
 * assignor is needed, and several instances of a service never steal each other's replies. It answers
 * to `KafkaNestServer` and to Nest's `ServerKafka` alike. `emitBatch()` and `commitOffsets()` are not offered.
 *
 * Use it as a custom client: `ClientsModule.register([{ name: 'MATH', customClass: KafkaNestClient, options: { client: { brokers } } }])`,
 * or `new KafkaNestClient({ client: { brokers } })`.
 */
export class KafkaNestClient extends ClientProxy {
  private readonly replyTopics = new Set<string>();
  private readonly parser = new KafkaParser();
  private readonly transport: KafkaTransport;
  private producer: TransportProducer | undefined;
  private replies: ReplyConsumer | undefined;
  private connecting: Promise<TransportProducer> | undefined;

  constructor(private readonly options: KafkaNestClientOptions) {
    super();
    if (!options?.client || !Array.isArray(options.client.brokers) || options.client.brokers.length === 0) {
      throw new KafkaConfigurationError(`KafkaNestClient: give the brokers to connect to: new KafkaNestClient({ client: { brokers: ['host:9092'] } })`, 'KafkaNestClient');
    }
    this.transport = options.transport ?? new KafkajsTransport();
    this.serializer = options.serializer ?? new KafkaRequestSerializer();
    this.deserializer = options.deserializer ?? new KafkaResponseDeserializer();
  }

  /** Reads the replies of `pattern` (from `<pattern>.reply`); call it before `connect()`, as with `ClientKafka`. */
  subscribeToResponseOf(pattern: unknown): void {
    this.replyTopics.add(this.replyTopicOf(this.normalizePattern(pattern as string)));
  }

  /** Connects the producer and, when responses are subscribed to, starts the reply consumer (shared by concurrent callers). */
  connect(): Promise<TransportProducer> {
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Fails the requests still waiting ('Connection closed', as `ClientKafka`), stops the reply consumer and the producer. */
  async close(): Promise<void> {
    const waiting = [...this.routingMap.values()];
    this.routingMap.clear();
    for (const callback of waiting) callback({ err: new Error('Connection closed') });
    await this.connecting?.catch(() => undefined);
    this.connecting = undefined;
    const [replies, producer] = [this.replies, this.producer];
    this.replies = undefined;
    this.producer = undefined;
    await Promise.allSettled([replies?.stop(), producer?.disconnect()]);
    this._status$.next('disconnected');
  }

  /** The producer, once connected. */
  unwrap<T = TransportProducer>(): T {
    if (!this.producer) throw new KafkaNestError('KafkaNestClient is not connected; call connect() first');
    return this.producer as T;
  }

  override on(): never {
    throw new KafkaNestError('KafkaNestClient has no events to listen to; watch status instead');
  }

  protected override publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const packet = this.assignPacketId(partial);
    const pattern = this.normalizePattern(partial.pattern);
    const replyTopic = this.replyTopicOf(pattern);
    if (!this.replyTopics.has(replyTopic)) {
      callback({
        err: new KafkaReplyError(`KafkaNestClient: no reply consumer for '${replyTopic}'; call subscribeToResponseOf('${pattern}') before connect()`, 'KafkaNestClient'),
      });
      return () => undefined;
    }
    this.routingMap.set(packet.id, callback);
    this.write(pattern, packet.data, { [ReplyHeaders.CORRELATION_ID]: packet.id, [ReplyHeaders.REPLY_TOPIC]: replyTopic }).catch((err: unknown) => {
      if (this.routingMap.delete(packet.id)) callback({ err });
    });
    return () => this.routingMap.delete(packet.id);
  }

  protected override async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    return (await this.write(this.normalizePattern(packet.pattern), packet.data, {})) as T;
  }

  private replyTopicOf(pattern: string): string {
    return `${pattern}.reply`;
  }

  private async write(topic: string, data: unknown, extra: Record<string, string>): Promise<unknown> {
    const producer = await this.connect();
    const out = (await this.serializer.serialize(data as never, { pattern: topic })) as { key?: unknown; value: unknown; headers?: Record<string, Buffer | string> };
    return producer.send(topic, [
      { key: (out.key ?? null) as Buffer | string | null, value: (out.value ?? null) as Buffer | string | null, headers: { ...out.headers, ...extra } },
    ]);
  }

  private async open(): Promise<TransportProducer> {
    const { client } = this.options;
    const producer = this.transport.createProducer(client, { acks: -1, idempotent: false, allowAutoTopicCreation: true });
    await producer.connect();
    this.producer = producer;
    if (this.replyTopics.size) {
      const problem = (m: string) => new KafkaConfigurationError(`KafkaNestClient: ${m}`, 'KafkaNestClient');
      const properties = resolveConsumerProperties({ ...(this.options.properties ?? {}) }, problem);
      const groupId = this.options.groupId ?? `${client.clientId ?? 'kafka-nest'}-replies-${randomUUID()}`;
      this.replies = new ReplyConsumer(this.transport, client, { ...properties.consumer, groupId }, (r) => void this.onReply(r));
      await this.replies.start([...this.replyTopics]);
    }
    this._status$.next('connected');
    return producer;
  }

  /** A reply: routed by correlation id to its request's callback, read as `ClientKafka` reads it. */
  private async onReply(record: ConsumedRecord): Promise<void> {
    const id = record.headers[ReplyHeaders.CORRELATION_ID]?.toString();
    const callback = id === undefined ? undefined : this.routingMap.get(id);
    if (!callback) return;
    const message = this.parser.parse({ key: record.key, value: record.value, headers: record.headers } as never) as unknown;
    const { err, response, isDisposed } = (await this.deserializer.deserialize(message)) as WritePacket;
    if (err || isDisposed) this.routingMap.delete(id as string);
    callback({ err, response, isDisposed });
  }
}
