// A consumer the client gives up on is replaced: one broker error must not end consumption.
import { Injectable } from '@nestjs/common';
import { ApiKey, type EmbeddedKafkaBroker, ErrorCode } from '@kafka-nest/broker';
import { KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger, startApp } from '../fixtures/kafka-app.js';

@Injectable()
class Recorder {
  readonly seen: string[] = [];

  @KafkaListener({ id: 'recovering', topics: ['recovering'], fromBeginning: true, deserializer: 'string' })
  on(@Payload() v: string) {
    this.seen.push(v);
  }
}

describe('consumer recovery', () => {
  let broker: EmbeddedKafkaBroker;

  beforeAll(async () => {
    broker = await createKafkaTestBroker({ topics: [{ name: 'recovering', partitions: 2 }] });
  });

  afterAll(async () => {
    await broker.stop();
  });

  it('a fetch failing with a non-retriable error: the container starts a new consumer and goes on', async () => {
    const logger = new CapturingLogger();
    const app = await startApp(broker, { providers: [Recorder], logger });
    try {
      const template = app.get(KafkaTemplate);
      const recorder = app.get(Recorder);
      await template.send('recovering', 'before');
      await waitFor(() => recorder.seen.includes('before'));

      const fault = broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR });
      await fault.exhausted;
      await template.send('recovering', 'after');
      await waitFor(() => recorder.seen.includes('after'), { timeoutMs: 20_000 });

      expect(app.get(KafkaListenerEndpointRegistry).isRunning('recovering')).toBe(true);
      expect(logger.lines('error').some((l) => l.includes("consumer 0 of listener 'recovering' stopped on an error") && l.includes('starting a new consumer in 1000 ms'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('crashes in a row (a replacement that cannot join, one that fails at once) double the back-off', async () => {
    const logger = new CapturingLogger();
    const app = await startApp(broker, { providers: [Recorder], logger });
    try {
      const template = app.get(KafkaTemplate);
      const recorder = app.get(Recorder);
      await template.send('recovering', 'first');
      await waitFor(() => recorder.seen.includes('first'));

      // The consumer's fetch fails; its replacement cannot join; the next one's fetch fails; the fourth runs.
      const fetches = broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, count: 2 });
      const join = broker.injectFault({ apiKey: ApiKey.JoinGroup, errorCode: ErrorCode.INVALID_SESSION_TIMEOUT });
      await Promise.all([fetches.exhausted, join.exhausted]);
      await template.send('recovering', 'last');
      await waitFor(() => recorder.seen.includes('last'), { timeoutMs: 20_000 });

      const delays = logger
        .lines('error')
        .flatMap((l) => (l.startsWith("consumer 0 of listener 'recovering' stopped on an error") ? [Number(/starting a new consumer in (\d+) ms/.exec(l)?.[1])] : []));
      expect(delays).toEqual([1000, 2000, 4000]);
      expect(app.get(KafkaListenerEndpointRegistry).isRunning('recovering')).toBe(true);
    } finally {
      await app.close();
    }
  });
});
