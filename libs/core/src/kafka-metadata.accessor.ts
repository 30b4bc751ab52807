import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DLT_HANDLER_METADATA, KAFKA_LISTENER_METADATA, RETRYABLE_TOPIC_METADATA } from './kafka.constants.js';
import type { KafkaListenerOptions } from './listener/kafka-listener-options.js';
import type { RetryableTopicOptions } from './retry-topic/retry-topic-configuration.js';

/** Reads kafka-nest metadata off provider methods. Internal. */
@Injectable()
export class KafkaMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The `@KafkaListener` options of a method, in source order; empty when it has none. */
  getListeners(method: Function): KafkaListenerOptions[] {
    return this.reflector.get<KafkaListenerOptions[] | undefined>(KAFKA_LISTENER_METADATA, method) ?? [];
  }

  /** The `@RetryableTopic` options of a method, in source order; empty when it has none. */
  getRetryableTopics(method: Function): RetryableTopicOptions[] {
    return this.reflector.get<RetryableTopicOptions[] | undefined>(RETRYABLE_TOPIC_METADATA, method) ?? [];
  }

  /** Whether a method carries `@DltHandler()`. */
  isDltHandler(method: Function): boolean {
    return this.reflector.get<boolean | undefined>(DLT_HANDLER_METADATA, method) === true;
  }
}
