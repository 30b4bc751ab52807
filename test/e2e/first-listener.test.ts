// A user's first listener test: an embedded broker, a Nest app, one record in, the commit checked.
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, KafkaTestingModule, waitFor, waitForCommit } from '@kafka-nest/testing';
import { afterAll, expect, it } from 'vitest';

@Injectable()
class GreetingsListener {
  readonly received: string[] = [];

  @KafkaListener({ id: 'greetings', topics: ['greetings'], fromBeginning: true })
  onGreeting(@Payload() greeting: { text: string }) {
    this.received.push(greeting.text);
  }
}

const broker = await createKafkaTestBroker({ topics: [{ name: 'greetings' }] });
const app = await Test.createTestingModule({ imports: [KafkaTestingModule.forBroker(broker)], providers: [GreetingsListener] }).compile();
await app.init();
afterAll(async () => { await app.close(); await broker.stop(); });

it('consumes a record and commits it', async () => {
  await app.get(KafkaTemplate).send('greetings', { text: 'hello' });
  await waitFor(() => app.get(GreetingsListener).received.length === 1);
  expect(app.get(GreetingsListener).received).toEqual(['hello']);
  await waitForCommit(broker, 'greetings', 'greetings', 0, 1);
});
