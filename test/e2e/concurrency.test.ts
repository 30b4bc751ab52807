// Concurrency versus partition count, per-partition ordering and parallelism across partitions.
import { Injectable } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger, gate, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext | undefined;
beforeAll(async () => {
  broker = await createKafkaTestBroker({
    topics: [{ name: 'three', partitions: 3 }, { name: 'two', partitions: 2 }, { name: 'order', partitions: 2 }],
  });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => broker.stop());

describe('concurrency', () => {
  it('concurrency: 3 on 3 partitions runs three consumers of one group, one partition each', async () => {
    const byPartition = new Map<number, number>();
    @Injectable()
    class Three {
      @KafkaListener({ id: 'three', topics: ['three'], concurrency: 3, fromBeginning: true })
      on(@Ctx() ctx: KafkaContext) {
        byPartition.set(ctx.partition, (byPartition.get(ctx.partition) ?? 0) + 1);
      }
    }
    app = await startApp(broker, { providers: [Three] });
    const registry = app.get(KafkaListenerEndpointRegistry);
    await waitForAssignment(registry, 'three', 3);
    await waitFor(() => broker.describeGroup('three')?.state === 'Stable' && broker.describeGroup('three')!.members.length === 3);
    expect(registry.assignedPartitions('three')).toEqual([{ topic: 'three', partitions: [0, 1, 2] }]);
    const template = app.get(KafkaTemplate);
    for (const partition of [0, 1, 2]) await template.send('three', { partition }, { partition });
    await waitFor(() => byPartition.size === 3);
    for (const partition of [0, 1, 2]) await waitForCommit(broker, 'three', 'three', partition, 1);
  });

  it('concurrency above the partition count logs that the surplus consumers sit idle', async () => {
    const logger = new CapturingLogger();
    @Injectable()
    class Surplus {
      @KafkaListener({ id: 'surplus', topics: ['two'], concurrency: 4 })
      on() {}
    }
    app = await startApp(broker, { providers: [Surplus], logger });
    await waitFor(() => logger.lines('warn').some((l) => l.includes('will sit idle')));
    expect(logger.lines('warn')).toContain(
      `listener 'surplus' runs 4 consumers for 2 partition(s): 2 will sit idle (a partition goes to one consumer of a group); lower 'concurrency' or add partitions`,
    );
    await waitForAssignment(app.get(KafkaListenerEndpointRegistry), 'surplus', 2);
  });
});

describe('ordering', () => {
  it('records of a partition are handled one at a time in offset order, while other partitions go on', async () => {
    const hold = gate();
    const handled: string[] = [];
    let inFlight0 = 0;
    let maxInFlight0 = 0;
    @Injectable()
    class Ordered {
      @KafkaListener({ id: 'order', topics: ['order'], fromBeginning: true, autoStartup: false })
      async on(@Ctx() ctx: KafkaContext) {
        if (ctx.partition === 0) {
          inFlight0++;
          maxInFlight0 = Math.max(maxInFlight0, inFlight0);
          if (ctx.offset === 0) await hold.promise;
          inFlight0--;
        }
        handled.push(`${ctx.partition}@${ctx.offset}`);
      }
    }
    app = await startApp(broker, { providers: [Ordered] });
    const template = app.get(KafkaTemplate);
    await template.sendBatch('order', [0, 1, 2].map((i) => ({ value: i, partition: 0 })));
    await template.sendBatch('order', [0, 1, 2].map((i) => ({ value: i, partition: 1 })));
    await app.get(KafkaListenerEndpointRegistry).start('order');
    // Partition 1 is done while partition 0 still waits on its first record.
    await waitFor(() => handled.filter((h) => h.startsWith('1@')).length === 3);
    expect(handled.filter((h) => h.startsWith('0@'))).toEqual([]);
    hold.open();
    await waitFor(() => handled.length === 6);
    expect(handled.filter((h) => h.startsWith('0@'))).toEqual(['0@0', '0@1', '0@2']);
    expect(handled.filter((h) => h.startsWith('1@'))).toEqual(['1@0', '1@1', '1@2']);
    expect(maxInFlight0).toBe(1);
  });
});
