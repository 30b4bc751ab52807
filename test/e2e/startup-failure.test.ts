// A container that cannot start fails start-up: a refused JoinGroup rejects app.init() with an error naming
// the listener, the Kafka error and the fix, and leaves no member in the group.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaListener, KafkaListenerEndpointRegistry, KafkaNestError } from '@kafka-nest/core';
import { createKafkaTestBroker } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'startup' }] });
});
afterAll(() => broker.stop());

/**
 * Initializes an app with `providers`; returns the start-up error and which containers were running after
 * it (before the app is closed).
 */
async function initError(providers: any[]): Promise<{ err: unknown; running: string[] }> {
  const app = await compileApp(broker, { providers });
  const err = await app.init().then(
    () => undefined,
    (e: unknown) => e,
  );
  const registry = app.get(KafkaListenerEndpointRegistry);
  const running = registry.getListenerContainerIds().filter((id) => registry.isRunning(id));
  await app.close();
  return { err, running };
}

const shortSession = { 'session.timeout.ms': 3000 } as const;

describe('start-up failures', () => {
  it('a JoinGroup the broker refuses (session timeout out of its range) fails start-up', async () => {
    @Injectable()
    class ShortSession {
      @KafkaListener({ id: 'short-session', topics: ['startup'], properties: shortSession })
      on() {}
    }
    const { err } = await initError([ShortSession]);
    expect(err).toBeInstanceOf(KafkaNestError);
    expect((err as Error).message).toMatch(
      /^listener 'short-session' \(ShortSession\.on\) could not start: .+ \(INVALID_SESSION_TIMEOUT\); set 'session\.timeout\.ms' \(3000\) within the broker's group\.min\.session\.timeout\.ms and group\.max\.session\.timeout\.ms \(Kafka's defaults: 6000 and 1800000\)$/,
    );
    expect((err as Error).cause).toMatchObject({ type: 'INVALID_SESSION_TIMEOUT' });
    expect(broker.describeGroup('short-session')?.members ?? []).toEqual([]);
  });

  it('a container that cannot start stops the others that did, before init() rejects', async () => {
    @Injectable()
    class Mixed {
      @KafkaListener({ id: 'fine', topics: ['startup'] })
      fine() {}

      @KafkaListener({ id: 'refused', topics: ['startup'], properties: shortSession })
      refused() {}
    }
    const { err, running } = await initError([Mixed]);
    expect((err as Error).message).toMatch(/^listener 'refused' \(Mixed\.refused\) could not start: /);
    expect(running).toEqual([]);
    expect(broker.describeGroup('fine')?.members ?? []).toEqual([]);
  });

  it('several containers that cannot start: one error naming each', async () => {
    @Injectable()
    class Refused {
      @KafkaListener({ id: 'refused-a', topics: ['startup'], properties: shortSession })
      a() {}

      @KafkaListener({ id: 'refused-b', topics: ['startup'], properties: shortSession })
      b() {}
    }
    const { err } = await initError([Refused]);
    expect(err).toBeInstanceOf(KafkaNestError);
    const lines = (err as Error).message.split('\n');
    expect(lines[0]).toBe('2 listeners could not start:');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^- listener 'refused-a' \(Refused\.a\) could not start: .+ \(INVALID_SESSION_TIMEOUT\)/),
      expect.stringMatching(/^- listener 'refused-b' \(Refused\.b\) could not start: .+ \(INVALID_SESSION_TIMEOUT\)/),
    ]);
    expect((err as Error).cause).toBeInstanceOf(AggregateError);
  });
});
