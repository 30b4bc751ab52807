// A container that cannot start fails start-up: a refused JoinGroup rejects app.init() with an error naming
// the listener, the Kafka error and the fix, and leaves no member in the group.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaListener, KafkaNestError } from '@kafka-nest/core';
import { createKafkaTestBroker } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'startup' }] });
});
afterAll(() => broker.stop());

/** Initializes an app with `providers`; returns the start-up error (after closing the app). */
async function initError(providers: any[]): Promise<unknown> {
  const app = await compileApp(broker, { providers });
  const err = await app.init().then(
    () => undefined,
    (e: unknown) => e,
  );
  await app.close();
  return err;
}

describe('start-up failures', () => {
  it('a JoinGroup the broker refuses (session timeout out of its range) fails start-up', async () => {
    @Injectable()
    class ShortSession {
      @KafkaListener({ id: 'short-session', topics: ['startup'], properties: { 'session.timeout.ms': 3000 } })
      on() {}
    }
    const err = await initError([ShortSession]);
    expect(err).toBeInstanceOf(KafkaNestError);
    expect((err as Error).message).toMatch(
      /^listener 'short-session' \(ShortSession\.on\) could not start: .+ \(INVALID_SESSION_TIMEOUT\); set 'session\.timeout\.ms' \(3000\) within the broker's group\.min\.session\.timeout\.ms and group\.max\.session\.timeout\.ms \(Kafka's defaults: 6000 and 1800000\)$/,
    );
    expect((err as Error).cause).toMatchObject({ type: 'INVALID_SESSION_TIMEOUT' });
    expect(broker.describeGroup('short-session')?.members ?? []).toEqual([]);
  });
});
