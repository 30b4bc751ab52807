/**
 * Topic configs as Kafka reports and changes them: DescribeConfigs lists every topic config with Kafka's
 * defaults and broker synonyms; AlterConfigs (kafkajs) replaces a topic's configs, IncrementalAlterConfigs
 * (raw v0 and flexible v1) changes single ones; both validate names and values and honour validate_only,
 * and a change the broker acts on (message.timestamp.type, max.message.bytes) takes effect at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, ConfigResourceTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import type { Reader } from '../../libs/broker/src/protocol/reader.js';
import type { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient } from './raw-client.js';

const portOf = (broker: EmbeddedKafkaBroker) => Number(broker.nodes[0].address.split(':')[1]);

/** The topic's configs as kafkajs reads them through DescribeConfigs v1 with synonyms. */
async function describeTopic(admin: Admin, topic: string) {
  const { resources } = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  return new Map(resources[0].configEntries.map((c) => [c.configName, c]));
}

describe('topic configs: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs', () => {
  let broker: EmbeddedKafkaBroker;
  let admin: Admin;
  let producer: Producer;
  let raw: RawClient;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2, autoCreateTopics: false });
    const kafka = new Kafka({ clientId: 'configs-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 20 } });
    admin = kafka.admin();
    producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    raw = await RawClient.connect(portOf(broker));
  });

  afterAll(async () => {
    raw?.close();
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
  });

  it('lists every topic config with Kafka defaults, the broker config each defaults from, and the override in force', async () => {
    broker.createTopics({ name: 'described', partitions: 1, configs: { 'retention.ms': '1000' } });
    const configs = await describeTopic(admin, 'described');
    expect([...configs.keys()]).toEqual(
      expect.arrayContaining([
        'cleanup.policy',
        'compression.type',
        'delete.retention.ms',
        'max.message.bytes',
        'message.timestamp.type',
        'min.insync.replicas',
        'retention.bytes',
        'retention.ms',
        'segment.bytes',
        'segment.ms',
        'unclean.leader.election.enable',
      ]),
    );
    expect(configs.get('max.message.bytes')).toMatchObject({
      configValue: '1048588',
      isDefault: true,
      configSource: 5,
      readOnly: false,
      isSensitive: false,
      configSynonyms: [{ configName: 'message.max.bytes', configValue: '1048588', configSource: 5 }],
    });
    expect(configs.get('segment.bytes')).toMatchObject({ configValue: '1073741824', configSource: 5 });
    expect(configs.get('min.insync.replicas')).toMatchObject({ configValue: '1', configSource: 5 });
    expect(configs.get('retention.ms')).toMatchObject({
      configValue: '1000',
      isDefault: false,
      configSource: 1,
      configSynonyms: [
        { configName: 'retention.ms', configValue: '1000', configSource: 1 },
        { configName: 'log.retention.hours', configValue: '168', configSource: 5 },
      ],
    });
  });

  it('reports default.replication.factor as the replicas a new topic gets', async () => {
    await admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: ['replicated'] });
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configNames: ['default.replication.factor'] }],
    });
    expect(resources[0].configEntries[0].configValue).toBe(String(topics[0].partitions[0].replicas.length));
    expect(topics[0].partitions[0].replicas).toHaveLength(2);
  });

  it('AlterConfigs replaces the topic configs, seen by DescribeConfigs and by produce at once', async () => {
    broker.createTopics({ name: 'altered', partitions: 1, configs: { 'retention.ms': '1000' } });
    await producer.send({ topic: 'altered', messages: [{ value: 'x'.repeat(200) }] });

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'altered',
          configEntries: [
            { name: 'max.message.bytes', value: '100' },
            { name: 'message.timestamp.type', value: 'LogAppendTime' },
          ],
        },
      ],
    });
    const configs = await describeTopic(admin, 'altered');
    expect(configs.get('max.message.bytes')).toMatchObject({ configValue: '100', configSource: 1 });
    expect(configs.get('message.timestamp.type')).toMatchObject({ configValue: 'LogAppendTime', configSource: 1 });
    expect(configs.get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: 5 }); // not named: back to the default

    const tooLarge = await producer.send({ topic: 'altered', messages: [{ value: 'x'.repeat(200) }] }).catch((e) => e);
    expect(tooLarge).toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
    const [meta] = await producer.send({ topic: 'altered', messages: [{ value: 'ok', timestamp: '1000' }] });
    expect(Number(meta.logAppendTime)).toBeGreaterThan(1000);
  });

  it('AlterConfigs validates: unknown name and bad value are INVALID_CONFIG, validate_only changes nothing, an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    broker.createTopics({ name: 'guarded', partitions: 1 });
    const alter = (validateOnly: boolean, name: string, entries: { name: string; value: string }[]) =>
      admin.alterConfigs({ validateOnly, resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: entries }] }).catch((e) => e);

    expect(await alter(false, 'guarded', [{ name: 'no.such.config', value: '1' }])).toMatchObject({ type: 'INVALID_CONFIG' });
    expect(await alter(false, 'guarded', [{ name: 'retention.ms', value: 'soon' }])).toMatchObject({ type: 'INVALID_CONFIG' });
    expect(await alter(false, 'guarded', [{ name: 'cleanup.policy', value: 'shred' }])).toMatchObject({ type: 'INVALID_CONFIG' });
    expect(await alter(false, 'nope', [{ name: 'retention.ms', value: '1' }])).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await alter(true, 'guarded', [{ name: 'retention.ms', value: '5' }]);
    expect((await describeTopic(admin, 'guarded')).get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: 5 });
  });

  it('AlterConfigs answers with Kafka’s error messages (raw v1)', async () => {
    broker.createTopics({ name: 'messages', partitions: 1 }, { name: 'bad-value', partitions: 1 });
    const r = await raw.request({
      apiKey: ApiKey.AlterConfigs,
      apiVersion: 1,
      body: (w) => {
        w.array(
          [
            [2, 'messages', 'retention.ms', 'soon'],
            [2, 'bad-value', 'no.such.config', '1'],
            [2, 'nope', 'retention.ms', '1'],
            [4, '0', 'num.partitions', '3'],
          ] as const,
          (w, [type, name, config, value]) => w.int8(type).string(name).array([0], (w) => w.string(config).nullableString(value)),
        );
        w.bool(false);
      },
    });
    expect(r.int32()).toBe(0);
    const results = r.array((r) => ({ errorCode: r.int16(), errorMessage: r.nullableString(), type: r.int8(), name: r.string() }));
    expect(results).toEqual([
      { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Invalid value soon for configuration retention.ms: Not a number of type LONG', type: 2, name: 'messages' },
      { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Unknown topic config name: no.such.config', type: 2, name: 'bad-value' },
      { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "Topic 'nope' does not exist.", type: 2, name: 'nope' },
      expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST, type: 4, name: '0' }),
    ]);
  });

  describe('IncrementalAlterConfigs', () => {
    type Op = [name: string, op: number, value: string | null];
    const send = (version: number, topic: string, ops: Op[], validateOnly = false) =>
      raw.request(
        {
          apiKey: ApiKey.IncrementalAlterConfigs,
          apiVersion: version,
          flexibleHeader: version >= 1,
          body: (w: Writer) => {
            w.array([0], (w) => {
              w.int8(2).string(topic);
              w.array(ops, (w, [name, op, value]) => w.string(name).int8(op).nullableString(value).tags());
              w.tags();
            });
            w.bool(validateOnly).tags();
          },
        },
        version >= 1,
      );
    const result = (r: Reader, version: number) => {
      r.flexible = version >= 1;
      expect(r.int32()).toBe(0);
      const [res] = r.array((r) => {
        const out = { errorCode: r.int16(), errorMessage: r.nullableString(), type: r.int8(), name: r.string() };
        r.tags();
        return out;
      });
      return res;
    };

    it('sets, deletes, appends to and subtracts from configs, leaving the others (v0 and flexible v1)', async () => {
      broker.createTopics({ name: 'incremental', partitions: 1, configs: { 'retention.ms': '1000', 'segment.ms': '5000' } });
      expect(result(await send(0, 'incremental', [['retention.ms', 1, null], ['max.message.bytes', 0, '2000']]), 0)).toMatchObject({ errorCode: 0, errorMessage: null });
      expect(result(await send(1, 'incremental', [['cleanup.policy', 2, 'compact']]), 1)).toMatchObject({ errorCode: 0, name: 'incremental' });

      let configs = await describeTopic(admin, 'incremental');
      expect(configs.get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: 5 });
      expect(configs.get('segment.ms')).toMatchObject({ configValue: '5000', configSource: 1 });
      expect(configs.get('max.message.bytes')).toMatchObject({ configValue: '2000', configSource: 1 });
      expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'delete,compact', configSource: 1 });

      expect(result(await send(1, 'incremental', [['cleanup.policy', 3, 'delete']]), 1)).toMatchObject({ errorCode: 0 });
      configs = await describeTopic(admin, 'incremental');
      expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'compact' });
    });

    it('refuses bad changes with Kafka’s errors and changes nothing with validate_only', async () => {
      broker.createTopics({ name: 'incremental-bad', partitions: 1 });
      expect(result(await send(0, 'incremental-bad', [['no.such', 0, '1']]), 0)).toMatchObject({
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: 'Unknown topic config name: no.such',
      });
      expect(result(await send(0, 'incremental-bad', [['min.insync.replicas', 0, '0']]), 0)).toMatchObject({
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: 'Invalid value 0 for configuration min.insync.replicas: Value must be at least 1',
      });
      expect(result(await send(0, 'incremental-bad', [['retention.ms', 2, '5']]), 0)).toMatchObject({
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: 'Config value append is not allowed for config key: retention.ms',
      });
      expect(result(await send(0, 'incremental-bad', [['retention.ms', 0, null]]), 0)).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
      expect(result(await send(0, 'incremental-bad', [['retention.ms', 0, '5']], true), 0)).toMatchObject({ errorCode: 0 });
      expect((await describeTopic(admin, 'incremental-bad')).get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: 5 });
    });
  });
});
