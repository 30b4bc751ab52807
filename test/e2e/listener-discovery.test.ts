// Where listeners are found: providers and controllers; request-scoped classes are reported, not silently dropped.
import { Controller, Injectable, Module, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, KafkaTestingModule, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger } from '../fixtures/kafka-app.js';

@Controller()
class EventsController {
  readonly received: string[] = [];

  @KafkaListener({ id: 'controller-listener', topics: ['events'], fromBeginning: true })
  onEvent(@Payload() e: { name: string }) {
    this.received.push(e.name);
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequestListener {
  @KafkaListener({ id: 'per-request', topics: ['events'] })
  onEvent() {}
}

@Module({ controllers: [EventsController], providers: [PerRequestListener] })
class EventsModule {}

describe('listener discovery', () => {
  let broker: EmbeddedKafkaBroker;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    broker = await createKafkaTestBroker({ topics: [{ name: 'events' }] });
  });

  afterAll(async () => {
    await broker.stop();
  });

  it('runs a @KafkaListener on a controller, and warns about one on a request-scoped provider', async () => {
    const app = await Test.createTestingModule({ imports: [KafkaTestingModule.forBroker(broker), EventsModule] }).compile();
    app.useLogger(logger);
    await app.init();
    try {
      expect(app.get(KafkaListenerEndpointRegistry).getListenerContainerIds()).toEqual(['controller-listener']);
      await app.get(KafkaTemplate).send('events', { name: 'signed-up' });
      await waitFor(() => app.get(EventsController).received.length === 1);
      expect(app.get(EventsController).received).toEqual(['signed-up']);
      expect(logger.lines('warn')).toContain(
        '@KafkaListener on PerRequestListener.onEvent is ignored: PerRequestListener is request-scoped or transient (or depends on such a provider); make it a singleton (default scope) to listen',
      );
    } finally {
      await app.close();
    }
  });
});
