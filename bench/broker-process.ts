/**
 * The embedded broker alone in a child process, for `broker.bench.ts`: so that its CPU time can be told
 * apart from the kafkajs client's. Started with `fork()`; speaks over the IPC channel:
 *
 *   child -> parent  { type: 'ready', brokers }
 *   parent -> child  { id, cmd: 'usage' }                       -> { id, cpu: { user, system } (µs), elu: { idle, active } (ms) }
 *                    { id, cmd: 'createTopic', topic, partitions } -> { id }
 *                    { id, cmd: 'deleteTopic', topic }          -> { id }
 *                    { id, cmd: 'stop' }                        -> { id }, then exit
 */
import { performance } from 'node:perf_hooks';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';

export type BrokerRequest =
  | { cmd: 'usage' }
  | { cmd: 'createTopic'; topic: string; partitions: number }
  | { cmd: 'deleteTopic'; topic: string }
  | { cmd: 'stop' };

export type BrokerCommand = BrokerRequest & { id: number };

export interface BrokerUsage {
  readonly cpu: NodeJS.CpuUsage;
  readonly elu: { idle: number; active: number };
}

const send = (message: unknown) => process.send!(message);

const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
process.on('message', async (m: BrokerCommand) => {
  switch (m.cmd) {
    case 'usage': {
      const { idle, active } = performance.eventLoopUtilization();
      send({ id: m.id, cpu: process.cpuUsage(), elu: { idle, active } });
      break;
    }
    case 'createTopic':
      broker.createTopics({ name: m.topic, partitions: m.partitions });
      send({ id: m.id });
      break;
    case 'deleteTopic':
      broker.deleteTopic(m.topic);
      send({ id: m.id });
      break;
    case 'stop':
      await broker.stop();
      send({ id: m.id });
      process.disconnect();
      break;
  }
});
send({ type: 'ready', brokers: broker.brokers });
