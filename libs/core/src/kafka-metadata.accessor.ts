import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { KAFKA_LISTENER_METADATA } from './kafka.constants.js';
import type { KafkaListenerOptions } from './listener/kafka-listener-options.js';

/** Reads kafka-nest metadata off provider methods. Internal. */
@Injectable()
export class KafkaMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The `@KafkaListener` options of a method, in source order; empty when it has none. */
  getListeners(method: Function): KafkaListenerOptions[] {
    return this.reflector.get<KafkaListenerOptions[] | undefined>(KAFKA_LISTENER_METADATA, method) ?? [];
  }
}
