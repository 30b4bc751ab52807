// KafkaListenerEndpointRegistry: look-up, start/stop/pause/resume, assigned partitions and lag.
import { Injectable } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate, ListenerContainerNotFoundError } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp, RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;
let registry: KafkaListenerEndpointRegistry;
let template: KafkaTemplate;
const seen: string[] = [];
const watcherSeen: string[] = [];

@Injectable()
class Controlled {
  @KafkaListener({ id: 'controlled', topics: ['ctl'], fromBeginning: true, deserializer: 'string' })
  on(@Ctx() ctx: KafkaContext) {
    seen.push(`${ctx.partition}:${ctx.value?.toString()}`);
  }

  /** Another group on the same topic: when it has a record, the controlled one had its chance too. */
  @KafkaListener({ id: 'watcher', topics: ['ctl'], fromBeginning: true, deserializer: 'string' })
  watch(@Ctx() ctx: KafkaContext) {
    watcherSeen.push(`${ctx.partition}:${ctx.value?.toString()}`);
  }
}

beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'ctl', partitions: 2 }] });
  app = await startApp(broker, { providers: [Controlled] });
  registry = app.get(KafkaListenerEndpointRegistry);
  template = app.get(KafkaTemplate);
  await waitForAssignment(registry, 'controlled', 2);
  await waitForAssignment(registry, 'watcher', 2);
});
afterAll(async () => {
  await app.close();
  await broker.stop();
});

describe('KafkaListenerEndpointRegistry', () => {
  it('lists containers and refuses an unknown id with the known ones', () => {
    expect(registry.getListenerContainerIds()).toEqual(['controlled', 'watcher']);
    const c = registry.getListenerContainer('controlled');
    expect({ id: c.id, groupId: c.groupId, listener: c.listener, running: c.isRunning() }).toEqual({
      id: 'controlled', groupId: 'controlled', listener: 'Controlled.on', running: true,
    });
    expect(() => registry.getListenerContainer('nope')).toThrow(ListenerContainerNotFoundError);
    expect(() => registry.getListenerContainer('nope')).toThrow(
      `no listener container with id 'nope'; known ids: 'controlled', 'watcher' (set one with @KafkaListener({ id }))`,
    );
  });

  it('reports assigned partitions', () => {
    expect(registry.assignedPartitions('controlled')).toEqual([{ topic: 'ctl', partitions: [0, 1] }]);
  });

  it('pause() stops delivery without leaving the group; resume() delivers what arrived meanwhile', async () => {
    const generation = broker.describeGroup('controlled')!.generationId;
    registry.pause('controlled');
    expect(registry.getListenerContainer('controlled').isPaused()).toBe(true);
    await template.send('ctl', 'while-paused', { partition: 0 });
    await waitFor(() => watcherSeen.includes('0:while-paused'));
    await waitFor(() => broker.describeGroup('controlled')?.state === 'Stable');
    expect(seen).not.toContain('0:while-paused');
    expect(broker.describeGroup('controlled')!.generationId).toBe(generation);
    registry.resume('controlled');
    await waitFor(() => seen.includes('0:while-paused'));
    expect(broker.describeGroup('controlled')!.generationId).toBe(generation);
  });

  it('stop() leaves the group; lag shows what arrives meanwhile; start() picks it up', async () => {
    await waitForCommit(broker, 'controlled', 'ctl', 0, 1);
    await registry.stop('controlled');
    expect(registry.isRunning('controlled')).toBe(false);
    expect(registry.assignedPartitions('controlled')).toEqual([]);
    await waitFor(() => broker.describeGroup('controlled')?.members.length === 0);
    await template.sendBatch('ctl', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }, { value: 'c', partition: 1 }]);
    const lag = await registry.lag('controlled');
    expect(lag).toEqual([
      { topic: 'ctl', partition: 0, committed: 1, endOffset: 2, lag: 1 },
      { topic: 'ctl', partition: 1, committed: -1, endOffset: 2, lag: 2 },
    ]);
    expect(lag.map((l) => l.lag)).toEqual(broker.lag('controlled').map((l) => l.lag));
    await registry.start('controlled');
    await waitFor(() => ['0:a', '1:b', '1:c'].every((v) => seen.includes(v)));
    await waitForCommit(broker, 'controlled', 'ctl', 1, 2);
    await waitFor(async () => (await registry.lag('controlled')).every((l) => l.lag === 0));
  });

  it('stop() right after start() leaves no consumer behind', async () => {
    @Injectable()
    class Quick {
      @KafkaListener({ id: 'quick', topics: ['ctl'], autoStartup: false })
      on() {}
    }
    const other = await startApp(broker, { providers: [Quick] });
    try {
      const quick = other.get(KafkaListenerEndpointRegistry);
      const started = quick.start('quick');
      await quick.stop('quick');
      await started;
      expect(quick.isRunning('quick')).toBe(false);
      expect(broker.describeGroup('quick')?.members ?? []).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('admin clients', () => {
  let own: EmbeddedKafkaBroker;
  beforeAll(async () => {
    own = await createKafkaTestBroker({ topics: [{ name: 'lagging' }] });
  });
  afterAll(() => own.stop());

  const openConnections = () => own.cluster.nodes.reduce((n, node) => n + node.connections.size, 0);

  @Injectable()
  class Lagging {
    @KafkaListener({ id: 'never-started', topics: ['lagging'], autoStartup: false })
    idle() {}

    @KafkaListener({ id: 'running', topics: ['lagging'] })
    on() {}
  }

  it('lag() on a container never started, or asked twice at once: app.close() leaves no connection open', async () => {
    const app = await startApp(own, { providers: [Lagging] });
    const registry = app.get(KafkaListenerEndpointRegistry);
    expect(await registry.lag('never-started')).toEqual([{ topic: 'lagging', partition: 0, committed: -1, endOffset: 0, lag: 0 }]);
    const [a, b] = await Promise.all([registry.lag('running'), registry.lag('running')]);
    expect(a).toEqual(b);
    await app.close();
    await waitFor(() => openConnections() === 0, { message: 'every connection of the closed application to be gone' });
  });

  it('a start that fails creating the error handler topics leaves no connection open', async () => {
    class NoTopics extends RecordingErrorHandler {
      topicsToCreate(): never {
        throw new Error('no dead-letter topic for you');
      }
    }
    @Injectable()
    class Failing {
      @KafkaListener({ id: 'failing', topics: ['lagging'], errorHandler: NoTopics })
      on() {}
    }
    const app = await compileApp(own, { providers: [Failing, NoTopics] });
    await expect(app.init()).rejects.toThrow('no dead-letter topic for you');
    await app.close();
    await waitFor(() => openConnections() === 0, { message: 'every connection of the failed application to be gone' });
  });
});
