import { SEND_TO_METADATA } from '../kafka.constants.js';

/** What `@SendTo` stored on a method: the fixed reply topic, or none for "the request's `kafka_replyTopic`". */
export interface SendToMetadata {
  readonly topic: string | undefined;
}

/**
 * Publishes the return value of a `@KafkaListener` method (a value, a promise or an Observable's last
 * value) as a reply, with the request's `kafka_correlationId` header copied onto it. Mirrors Spring
 * Kafka's `@SendTo`:
 * - `@SendTo('topic')` replies to that topic;
 * - `@SendTo()` replies to the topic in the request's `kafka_replyTopic` header, and to the partition in
 *   its `kafka_replyPartition` header when there is one (as `ReplyingKafkaTemplate` sends them).
 *
 * A method returning `undefined` or `null` sends no reply (as Spring's `null`). The reply is published
 * through `KafkaTemplate` before the request's offset counts as processed: a failed publish fails the
 * delivery, which the listener's error handler retries. Values are serialized as `KafkaTemplate` does
 * (Buffers and strings as they are, anything else as JSON). Record listeners only.
 */
export function SendTo(topic?: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(SEND_TO_METADATA, { topic } satisfies SendToMetadata, descriptor.value as object);
    return descriptor;
  };
}
