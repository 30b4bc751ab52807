import { KAFKA_LISTENER_METADATA } from '../kafka.constants.js';
import type { KafkaListenerOptions } from '../listener/kafka-listener-options.js';

/**
 * Makes a method of a provider a Kafka listener: a container with its own consumer group calls it for each
 * record (or, with `batch: true`, each batch). Mirrors Spring Kafka's `@KafkaListener`; a method may carry
 * several, each making its own container.
 */
export function KafkaListener(options: KafkaListenerOptions): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing: KafkaListenerOptions[] = Reflect.getMetadata(KAFKA_LISTENER_METADATA, method) ?? [];
    // Decorators run bottom-up; prepend so the list follows the source order.
    Reflect.defineMetadata(KAFKA_LISTENER_METADATA, [options, ...existing], method);
    return descriptor;
  };
}
