// A live zombie: an instance whose handler stalls past the rebalance loses its partition; the new owner
// initialises the partition's transactional id (fencing the stalled one) and commits the record. When the
// stalled handler resumes, its commit is refused; its error handler's new transaction initialises the id again,
// fencing the owner in turn, which must then go on with a new producer instead of reusing the fenced one.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, DefaultErrorHandler, FixedBackOff, type KafkaContext, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker();
});
afterAll(async () => {
  await broker?.stop();
});

it('a stalled instance fenced by the new owner commits nothing again, and the owner fenced back by it recovers with a new producer', async () => {
  broker.createTopics({ name: 'z-in' }, { name: 'z-out' });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  const make = (name: string) => {
    @Injectable()
    class Worker {
      constructor(private readonly template: KafkaTemplate) {}
      @KafkaListener({
        id: 'z',
        topics: ['z-in'],
        fromBeginning: true,
        deserializer: 'string',
        errorHandler: 'Z_EH',
        properties: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500, 'max.poll.interval.ms': 1000 },
      })
      async on(@Payload() value: string, @Ctx() ctx: KafkaContext) {
        calls.push(`${name}:${value}:${ctx.deliveryAttempt}`);
        await this.template.send('z-out', `${name}:${value}`);
        if (name === 'A' && ctx.deliveryAttempt === 1) await gate;
      }
    }
    return Worker;
  };
  const eh = { provide: 'Z_EH', useFactory: () => new DefaultErrorHandler(undefined, new FixedBackOff(0, 3)) };
  const a = await startApp(broker, { options: { transactionIdPrefix: 'z-' }, providers: [make('A'), eh] });
  const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'z-in', messages: [{ value: 'r1' }] });
  await producer.disconnect();
  await waitFor(() => calls.includes('A:r1:1'), { message: 'A handling r1' });
  const b = await startApp(broker, { options: { transactionIdPrefix: 'z-' }, providers: [make('B'), eh] });
  try {
    // B joins; A, in its handler past max.poll.interval.ms, is left out of the rebalance; B initialises the
    // partition's transactional id (fencing A, aborting its open transaction) and commits r1.
    await waitFor(() => broker.committedOffsets('z').find((o) => o.topic === 'z-in')?.offset === 1, { timeoutMs: 60_000, message: 'B to commit r1' });
    expect(broker.committedRecords('z-out').map((r) => r.value!.toString())).toEqual(['B:r1']);
    const epoch = () => broker.transactions().find((t) => t.transactionalId === 'z-z.z-in.0')?.producerEpoch ?? -1;
    const fencedA = epoch();
    release();
    // A's commit is refused (fenced); its error handler runs in a new transaction on a new producer, whose
    // initialisation fences B's producer in turn. Then A leaves: B owns the partition and must recover from
    // that fencing (with a new producer of its own) to process the next record; r1 stays committed once.
    await waitFor(() => epoch() > fencedA, { message: "A's error handler to initialise the transactional id again" });
    await a.close();
    const feeder = kafka.producer();
    await feeder.connect();
    await feeder.send({ topic: 'z-in', messages: [{ value: 'r2' }] });
    await feeder.disconnect();
    await waitFor(() => broker.committedOffsets('z').find((o) => o.topic === 'z-in')?.offset === 2, { timeoutMs: 60_000, message: 'r2 to be committed' });
    const output = broker.committedRecords('z-out').map((r) => r.value!.toString());
    expect(output).toHaveLength(2);
    expect(output[0]).toBe('B:r1');
    expect(output[1]).toBe('B:r2');
    expect(calls.filter((c) => c.startsWith('A:'))).toEqual(['A:r1:1']);
  } finally {
    release();
    await Promise.all([a.close().catch(() => undefined), b.close()]);
  }
}, 120_000);
