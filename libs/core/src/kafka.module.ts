import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { KAFKA_MODULE_OPTIONS } from './kafka.constants.js';
import { DeadLetterReplayer } from './dead-letters/dead-letter-replayer.js';
import { KafkaExplorer } from './kafka.explorer.js';
import { KafkaMetadataAccessor } from './kafka-metadata.accessor.js';
import type { KafkaModuleAsyncOptions, KafkaModuleOptions } from './kafka-module-options.interface.js';
import { KAFKA_OBSERVER, KafkaMetrics } from './metrics/kafka-metrics.js';
import { KafkaListenerEndpointRegistry } from './listener/kafka-listener-endpoint.registry.js';
import { KafkaTemplate } from './producer/kafka.template.js';
import { RetryTopicConfigurer } from './retry-topic/retry-topic.configurer.js';

/** The metrics, when the options enable them; `undefined` otherwise. */
const OBSERVER: Provider = {
  provide: KAFKA_OBSERVER,
  inject: [KAFKA_MODULE_OPTIONS, KafkaListenerEndpointRegistry],
  useFactory: (options: KafkaModuleOptions, registry: KafkaListenerEndpointRegistry) =>
    options.metrics ? new KafkaMetrics({ containers: () => registry.getListenerContainers() }, options.metrics === true ? {} : options.metrics) : undefined,
};

const PROVIDERS: Provider[] = [KafkaMetadataAccessor, KafkaExplorer, KafkaListenerEndpointRegistry, KafkaTemplate, RetryTopicConfigurer, OBSERVER, DeadLetterReplayer];
// The options token is exported (not to users: the symbol is internal) for providers such as `ReplyingKafkaTemplate.provide()`.
const EXPORTS = [KafkaTemplate, KafkaListenerEndpointRegistry, DeadLetterReplayer, KAFKA_MODULE_OPTIONS];

/**
 * Kafka for a Nest application: finds `@KafkaListener` methods on providers and runs a container for each,
 * and provides `KafkaTemplate`, `KafkaListenerEndpointRegistry` and `DeadLetterReplayer`. Global: import it once, in the root
 * module.
 */
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      global: true,
      module: KafkaModule,
      imports: [DiscoveryModule],
      providers: [{ provide: KAFKA_MODULE_OPTIONS, useValue: options }, ...PROVIDERS],
      exports: EXPORTS,
    };
  }

  /** Options from a factory, e.g. with `ConfigService`: `forRootAsync({ imports, inject, useFactory })`. */
  static forRootAsync(options: KafkaModuleAsyncOptions): DynamicModule {
    return {
      global: true,
      module: KafkaModule,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [{ provide: KAFKA_MODULE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }, ...PROVIDERS],
      exports: EXPORTS,
    };
  }
}
