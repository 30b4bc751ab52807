import { RETRYABLE_TOPIC_METADATA } from '../kafka.constants.js';
import type { RetryableTopicOptions } from './retry-topic-configuration.js';

/**
 * Non-blocking retries for a `@KafkaListener` method (Spring Kafka's `@RetryableTopic`): a record that fails
 * is committed on its topic and forwarded to a retry topic, delivered from there once its delay has passed,
 * and after `attempts` deliveries in all it goes to the dead-letter topic, where the class's `@DltHandler`
 * (or a log line) receives it. The main topic keeps flowing meanwhile; the order of records is not kept.
 *
 * ```ts
 * @RetryableTopic({ attempts: 4, backoff: { delay: 1000, multiplier: 2, maxDelay: 10000 } })
 * @KafkaListener({ topics: ['payments'], groupId: 'payments' })
 * async charge(@Payload() p: Payment) { ... }   // payments → payments-retry-1000 → -2000 → -4000 → payments-dlt
 * ```
 *
 * Record listeners only (as in Spring); needs `topics`, not `topicPattern`; cannot be combined with the
 * listener's own `errorHandler`. Options not given come from `KafkaModule.forRoot({ retryTopic })`, then the
 * defaults of `RetryableTopicOptions`.
 */
export function RetryableTopic(options: RetryableTopicOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing: RetryableTopicOptions[] = Reflect.getMetadata(RETRYABLE_TOPIC_METADATA, method) ?? [];
    Reflect.defineMetadata(RETRYABLE_TOPIC_METADATA, [options, ...existing], method);
    return descriptor;
  };
}
