// KafkaTemplate never reports a record as sent that the broker did not acknowledge, even when a partition's
// leader moves while a multi-partition send is being retried (kafkajs 2.2 can skip that partition: #1303).
import type { INestApplicationContext } from '@nestjs/common';
import { ApiKey, type EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker } from '@kafka-nest/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;

beforeAll(async () => {
  broker = await createKafkaTestBroker({ brokers: 3, topics: [{ name: 'moving', partitions: 2 }] });
  app = await startApp(broker, { options: { client: { brokers: broker.brokers, retry: { retries: 8, initialRetryTime: 50 } } } });
});

afterAll(async () => {
  await app?.close();
  await broker?.stop();
});

it('a send to two partitions whose first leader stops mid-request: resolved means written, else it rejects', async () => {
  const template = app.get(KafkaTemplate);
  await template.sendBatch('moving', [{ value: 'warm-up', partition: 1 }]);
  // Partition 0 is led by node 0, partition 1 by node 1. Node 0 holds the request, then goes away.
  broker.injectFault({ apiKey: ApiKey.Produce, nodeId: 0, delayMs: 500 });
  const sending = template.sendBatch('moving', [
    { value: 'to-p0', partition: 0 },
    { value: 'to-p1', partition: 1 },
  ]);
  await broker.stopNode(0);
  const outcome = await sending.then(
    (metas) => ({ metas }),
    (error: Error) => ({ error }),
  );
  const written = broker.allRecords('moving').map((r) => r.value!.toString());
  if ('metas' in outcome) {
    expect(written).toEqual(expect.arrayContaining(['to-p0', 'to-p1']));
    for (const m of outcome.metas) expect(m.offset).toBeGreaterThanOrEqual(0);
  } else {
    expect(outcome.error.message).toMatch(/sending 2 record\(s\) to 'moving' failed/);
  }
});
