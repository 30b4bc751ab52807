/**
 * The consumer a back-off pauses is the one whose fetch failed, not whichever of the container's consumers
 * lists the partition first. Right after a rebalance two of them can: the old owner, evicted while its
 * handler ran and not rejoined yet, still lists it; the new owner has it too. The old owner's failure must
 * leave the new owner's fetching alone.
 *
 * The container's consumers are looked at directly (which one owns which partition, whose back-offs are
 * pending): no public API names them, and the race cannot be arranged otherwise.
 */
import { DefaultErrorHandler, FixedBackOff, KafkaListenerEndpointRegistry, KafkaTemplate, type TopicPartitions } from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { type Delivery, quietNest, recordListener, startApp } from '../error-handling/e2e-support.js';
import { brokerPerTest, gate } from '../../fixtures/kafka-app.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

/** What the test reads of a container's consumers. */
interface ChildView {
  readonly index: number;
  readonly consumer: { assignment(): TopicPartitions[] };
  readonly backoffs: Map<string, unknown>;
}

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }], groupMinSessionTimeoutMs: 500 });

it("an evicted consumer's back-off pauses its own consumer, not the partition's new owner", async () => {
  const deliveries: Delivery[] = [];
  const hold = gate();
  let stuck = -1;
  const listener = recordListener(
    {
      id: 'orders',
      topics: ['orders'],
      groupId: 'orders',
      concurrency: 2,
      fromBeginning: true,
      errorHandler: ERROR_HANDLER,
      properties: { 'session.timeout.ms': 1_000, 'heartbeat.interval.ms': 100, 'max.poll.interval.ms': 1_500 },
    },
    deliveries,
    async (_payload, ctx) => {
      // The first delivery outlives max.poll.interval.ms, then fails; the new owner's delivery succeeds.
      if (ctx.partition === stuck && deliveries.filter((d) => d.partition === stuck).length === 1) {
        await hold.promise;
        throw new Error('timed out downstream');
      }
    },
  );
  const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(30_000, 1)) };
  env.app = await startApp(env.broker, [handler, listener]);
  const registry = env.app.get(KafkaListenerEndpointRegistry);
  await waitForAssignment(registry, 'orders', 2);
  const children = (registry.getListenerContainer('orders') as unknown as { children: ChildView[] }).children;
  await waitFor(() => children.every((c) => c.consumer.assignment().length === 1));
  // The partition of the second consumer: the first one is found first when both list it.
  stuck = children[1]!.consumer.assignment()[0]!.partitions[0]!;

  await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' }, { partition: stuck });
  // The second consumer is evicted; the first one gets its partition and handles the record.
  await waitForCommit(env.broker, 'orders', 'orders', stuck, 1, 15_000);
  expect(children[0]!.consumer.assignment()[0]!.partitions).toContain(stuck);
  expect(children[1]!.consumer.assignment()[0]!.partitions).toContain(stuck);

  hold.open();
  await waitFor(() => children.some((c) => c.backoffs.size > 0));
  expect(children[0]!.backoffs.size).toBe(0);
  expect(children[1]!.backoffs.size).toBe(1);
});
