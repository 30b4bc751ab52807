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
 *
 * Each retry topic and the DLT get their own container: id and group `<listener id/group><suffix>`
 * (`payments-retry-1000`), `concurrency` consumers, starting from the earliest offset when the group has
 * none. A retry topic's listener does not deliver a record before its `retry_topic-backoff-timestamp`: it
 * pauses that partition until the head record is due, then resumes (no sleeping, no rebalance).
 *
 * Deliberate differences from Spring Kafka:
 * - Retry headers are replaced at each hop, not appended: a kafka-nest record keeps one value per header
 *   name (Spring's `setRetainAllRetryHeaderValues(false)`). The `kafka_dlt-original-*` headers keep the
 *   main-topic record's values (Spring's `appendOriginalHeaders = false`).
 * - `include`/`exclude` always look through the cause chain (Spring's `traversingCauses` defaults to false).
 * - `numPartitions` defaults to 1 (Spring 3 uses the broker's `num.partitions`, 1 unless changed).
 * - Delays are random only with `random: true`, and topics are named by the configured delays (spring-retry
 *   also randomizes a fixed delay whenever `maxDelay` exceeds it, and names topics by the drawn values).
 * - A record on the main topic is always on attempt 1, even if it carries a `retry_topic-attempts` header
 *   (a record replayed from a DLT starts afresh).
 * - Not supported: `timeout`, `autoStartDltHandler`, exception-based DLT routing, a per-listener
 *   `kafkaTemplate` or container factory, and blocking retries inside retry topics.
 */
export function RetryableTopic(options: RetryableTopicOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing: RetryableTopicOptions[] = Reflect.getMetadata(RETRYABLE_TOPIC_METADATA, method) ?? [];
    Reflect.defineMetadata(RETRYABLE_TOPIC_METADATA, [options, ...existing], method);
    return descriptor;
  };
}
