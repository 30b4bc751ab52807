import type { DynamicModule } from '@nestjs/common';
import { EmbeddedKafkaBroker, type EmbeddedKafkaBrokerOptions, silentLogger } from '@kafka-nest/broker';
import { KafkaModule, type KafkaModuleOptions } from '@kafka-nest/core';

/**
 * Starts an embedded broker for a test file: silent, loopback, on a free port. Stop it in `afterAll`.
 * Mirrors Spring's `@EmbeddedKafka`.
 */
export function createKafkaTestBroker(options: EmbeddedKafkaBrokerOptions = {}): Promise<EmbeddedKafkaBroker> {
  return EmbeddedKafkaBroker.start({ logger: silentLogger, ...options });
}

/**
 * Module options pointing at `broker`, with settings that keep tests quick: the smallest session timeout
 * the broker accepts (6 s), 1 s heartbeats, 100 ms fetch waits, a 5 s shutdown timeout. `overrides` win;
 * their `properties` are merged over these.
 */
export function kafkaTestOptions(broker: EmbeddedKafkaBroker, overrides: Partial<KafkaModuleOptions> = {}): KafkaModuleOptions {
  return {
    shutdownTimeoutMs: 5_000,
    ...overrides,
    client: { clientId: 'kafka-nest-test', brokers: broker.brokers, ...overrides.client },
    properties: {
      'session.timeout.ms': 6_000,
      'heartbeat.interval.ms': 1_000,
      'fetch.max.wait.ms': 100,
      ...overrides.properties,
    },
  };
}

/** `KafkaModule.forRoot` wired to an embedded broker, with `kafkaTestOptions`. */
export class KafkaTestingModule {
  static forBroker(broker: EmbeddedKafkaBroker, overrides: Partial<KafkaModuleOptions> = {}): DynamicModule {
    return KafkaModule.forRoot(kafkaTestOptions(broker, overrides));
  }
}
