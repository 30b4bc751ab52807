/**
 * Admin APIs end to end: kafkajs's admin client against the embedded broker for the paths it takes, and
 * raw requests for the versions and error codes kafkajs does not reach.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import type { Reader } from '../../libs/broker/src/protocol/reader.js';
import { RawClient } from './raw-client.js';

const portOf = (broker: EmbeddedKafkaBroker, nodeId = 0) => Number(broker.nodes[nodeId].address.split(':')[1]);

function kafkaFor(broker: EmbeddedKafkaBroker) {
  return new Kafka({ clientId: 'admin-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 20 } });
}

/** Reads a `[name error_code error_message?]` topic-result array. */
function topicResults(r: Reader, withMessage: boolean) {
  return r.array((r) => ({ name: r.string(), errorCode: r.int16(), errorMessage: withMessage ? r.nullableString() : undefined }));
}

describe('admin APIs against a single node', () => {
  let broker: EmbeddedKafkaBroker;
  let admin: Admin;
  let raw: RawClient;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, defaultPartitions: 3, autoCreateTopics: false });
    admin = kafkaFor(broker).admin();
    await admin.connect();
    raw = await RawClient.connect(portOf(broker));
  });

  afterAll(async () => {
    raw?.close();
    await admin?.disconnect();
    await broker?.stop();
  });

  afterEach(() => broker.clearFaults());

  describe('CreateTopics', () => {
    it('creates a topic with its partitions and configs, visible in Metadata and DescribeConfigs', async () => {
      const created = await admin.createTopics({
        topics: [{ topic: 'orders', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
      });
      expect(created).toBe(true);
      expect(broker.partitionCount('orders')).toBe(4);

      const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
      expect(topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);

      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders' }],
      });
      const byName = new Map(resources[0].configEntries.map((c) => [c.configName, c]));
      expect(byName.get('retention.ms')).toMatchObject({ configValue: '1000', isDefault: false, configSource: 1 });
      expect(byName.get('cleanup.policy')).toMatchObject({ configValue: 'delete', isDefault: true, configSource: 5 });
    });

    it('uses the default partition count for -1 and answers false for a topic that exists', async () => {
      expect(await admin.createTopics({ topics: [{ topic: 'defaulted' }] })).toBe(true);
      expect(broker.partitionCount('defaulted')).toBe(3);
      expect(await admin.createTopics({ topics: [{ topic: 'defaulted', numPartitions: 1 }] })).toBe(false);
      expect(broker.partitionCount('defaulted')).toBe(3);
    });

    it('validates only, creating nothing, when asked to', async () => {
      await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'dry-run', numPartitions: 2 }] });
      expect(broker.topicNames()).not.toContain('dry-run');
    });

    it('refuses a bad name, partition count or replication factor with the Kafka error and a message', async () => {
      const error = await admin
        .createTopics({
          topics: [
            { topic: 'bad name!', numPartitions: 1 },
            { topic: 'no-partitions', numPartitions: 0 },
            { topic: 'too-replicated', numPartitions: 1, replicationFactor: 3 },
          ],
        })
        .catch((e) => e);
      expect(error.name).toBe('KafkaJSAggregateError');
      const types = Object.fromEntries(error.errors.map((e: any) => [e.topic, e.type]));
      expect(types).toEqual({
        'bad name!': 'INVALID_TOPIC_EXCEPTION',
        'no-partitions': 'INVALID_PARTITIONS',
        'too-replicated': 'INVALID_REPLICATION_FACTOR',
      });
      expect(broker.topicNames()).not.toContain('no-partitions');

      const r = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 1,
        body: (w) => {
          w.array(['bad name!'], (w, name) => w.string(name).int32(1).int16(1).array([], () => {}).array([], () => {}));
          w.int32(1000).bool(false);
        },
      });
      const [result] = topicResults(r, true);
      expect(result.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(result.errorMessage).toMatch(/outside \[a-zA-Z0-9._-\]/);
    });

    it('refuses a request for more than 10,000 partitions in all with POLICY_VIOLATION, creating nothing', async () => {
      const error = await admin
        .createTopics({ topics: [{ topic: 'huge', numPartitions: 2 ** 31 - 1 }, { topic: 'small-beside-huge', numPartitions: 1 }] })
        .catch((e) => e);
      expect(error.name).toBe('KafkaJSAggregateError');
      expect(error.errors.map((e: any) => [e.topic, e.type])).toEqual([
        ['huge', 'POLICY_VIOLATION'],
        ['small-beside-huge', 'POLICY_VIOLATION'],
      ]);
      expect(broker.topicNames()).not.toContain('huge');
      expect(broker.topicNames()).not.toContain('small-beside-huge');

      const r = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 1,
        body: (w) => {
          w.array(['a', 'b'], (w, name) => w.string(name).int32(5001).int16(1).array([], () => {}).array([], () => {}));
          w.int32(1000).bool(false);
        },
      });
      const results = topicResults(r, true);
      expect(results.map((t) => t.errorCode)).toEqual([ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION]);
      expect(results[0].errorMessage).toBe(
        'Excessively large number of partitions per request: 10002 requested, the limit is 10000; create the partitions over several requests',
      );
      expect(broker.topicNames()).not.toContain('a');

      await admin.createTopics({ topics: [{ topic: 'at-the-limit', numPartitions: 10_000 }] });
      expect(broker.partitionCount('at-the-limit')).toBe(10_000);

      // As Kafka counts: a topic named twice is refused on its own (INVALID_REQUEST) and not counted.
      const twice = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 1,
        body: (w) => {
          w.array(['twice', 'twice', 'beside-twice'], (w, name) => w.string(name).int32(6_000).int16(1).array([], () => {}).array([], () => {}));
          w.int32(1000).bool(false);
        },
      });
      expect(topicResults(twice, true).map((t) => [t.name, t.errorCode])).toEqual([
        ['twice', ErrorCode.INVALID_REQUEST],
        ['beside-twice', ErrorCode.NONE],
      ]);
      expect(broker.partitionCount('beside-twice')).toBe(6_000);
    });

    it('serves v0 without error messages and v4 with throttle time; refuses an assignment naming an unknown broker and null configs', async () => {
      const topic = (name: string, assign: boolean, nullConfig = false) => (w: any) => {
        w.string(name).int32(assign ? -1 : 2).int16(-1);
        w.array(assign ? [0] : [], (w: any, p: number) => w.int32(p).array([5], (w: any, n: number) => w.int32(n)));
        w.array(nullConfig ? ['retention.ms'] : [], (w: any, c: string) => w.string(c).nullableString(null));
      };
      const v0 = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 0,
        body: (w) => w.array([topic('v0-topic', false)], (w, t) => t(w)).int32(1000),
      });
      expect(topicResults(v0, false)).toEqual([{ name: 'v0-topic', errorCode: 0, errorMessage: undefined }]);
      expect(v0.remaining).toBe(0);

      const v4 = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 4,
        body: (w) =>
          w
            .array([topic('v4-topic', false), topic('assigned', true), topic('null-config', false, true)], (w, t) => t(w))
            .int32(1000)
            .bool(false),
      });
      expect(v4.int32()).toBe(0); // throttle_time_ms
      const results = topicResults(v4, true);
      expect(results.map((t) => [t.name, t.errorCode])).toEqual([
        ['v4-topic', 0],
        ['assigned', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
        ['null-config', ErrorCode.INVALID_CONFIG],
      ]);
      expect(results[1].errorMessage).toMatch(/includes broker 5, but no such broker is registered/);
      expect(broker.partitionCount('v4-topic')).toBe(2);
      expect(broker.topicNames()).not.toContain('assigned');
    });
  });

  describe('DeleteTopics', () => {
    it('deletes a topic and its data, and answers UNKNOWN_TOPIC_OR_PARTITION for one that does not exist', async () => {
      broker.createTopics({ name: 'doomed', partitions: 1 });
      const producer = kafkaFor(broker).producer();
      await producer.connect();
      await producer.send({ topic: 'doomed', messages: [{ value: 'x' }] });
      await producer.disconnect();

      await admin.deleteTopics({ topics: ['doomed'] });
      expect(broker.topicNames()).not.toContain('doomed');
      expect(await admin.listTopics()).not.toContain('doomed');

      for (const version of [0, 3]) {
        const r = await raw.request({ apiKey: ApiKey.DeleteTopics, apiVersion: version, body: (w) => w.array(['doomed'], (w, n) => w.string(n)).int32(1000) });
        if (version >= 1) expect(r.int32()).toBe(0);
        expect(topicResults(r, false)).toEqual([{ name: 'doomed', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: undefined }]);
      }

      // deletion is immediate: the name can be taken again at once
      expect(await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1 }] })).toBe(true);
      expect(broker.endOffset('doomed', 0)).toBe(0);
    });
  });

  describe('CreatePartitions', () => {
    it('grows a topic, and records reach the new partitions', async () => {
      broker.createTopics({ name: 'growing', partitions: 1 });
      await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] });
      expect(broker.partitionCount('growing')).toBe(3);

      const producer = kafkaFor(broker).producer();
      await producer.connect();
      await producer.send({ topic: 'growing', messages: [{ value: 'to-2', partition: 2 }] });
      await producer.disconnect();
      expect(broker.records('growing', 2).map((r) => r.value?.toString())).toEqual(['to-2']);
    });

    it('refuses to shrink or keep the count (INVALID_PARTITIONS) and validates only when asked', async () => {
      broker.createTopics({ name: 'fixed', partitions: 2 });
      const shrink = await admin.createPartitions({ topicPartitions: [{ topic: 'fixed', count: 1 }] }).catch((e) => e);
      expect(shrink).toMatchObject({ name: 'KafkaJSProtocolError', type: 'INVALID_PARTITIONS' });

      await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'fixed', count: 5 }] });
      expect(broker.partitionCount('fixed')).toBe(2);

      const r = await raw.request({
        apiKey: ApiKey.CreatePartitions,
        apiVersion: 1,
        body: (w) =>
          w
            .array(['fixed', 'missing'], (w, n) => w.string(n).int32(2).nullableArray(null, () => {}))
            .int32(1000)
            .bool(false),
      });
      expect(r.int32()).toBe(0);
      const results = topicResults(r, true);
      expect(results.map((t) => [t.name, t.errorCode])).toEqual([
        ['fixed', ErrorCode.INVALID_PARTITIONS],
        ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
      expect(results[0].errorMessage).toBe('Topic already has 2 partitions.');
    });

    it('refuses to add more than 10,000 partitions in one request with POLICY_VIOLATION', async () => {
      broker.createTopics({ name: 'bounded', partitions: 2 });
      const error = await admin.createPartitions({ topicPartitions: [{ topic: 'bounded', count: 10_003 }] }).catch((e) => e);
      expect(error).toMatchObject({ name: 'KafkaJSProtocolError', type: 'POLICY_VIOLATION' });
      expect(broker.partitionCount('bounded')).toBe(2);
      await admin.createPartitions({ topicPartitions: [{ topic: 'bounded', count: 10_002 }] });
      expect(broker.partitionCount('bounded')).toBe(10_002);

      // Only topics that can grow count: an unknown one asking for 20,000 fails alone.
      broker.createTopics({ name: 'grows-beside', partitions: 1 });
      const r = await raw.request({
        apiKey: ApiKey.CreatePartitions,
        apiVersion: 1,
        body: (w) =>
          w
            .array([['no-such-topic', 20_000] as const, ['grows-beside', 2] as const], (w, [n, count]) => w.string(n).int32(count).nullableArray(null, () => {}))
            .int32(1000)
            .bool(false),
      });
      expect(r.int32()).toBe(0);
      expect(topicResults(r, true).map((t) => [t.name, t.errorCode])).toEqual([
        ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['grows-beside', ErrorCode.NONE],
      ]);
      expect(broker.partitionCount('grows-beside')).toBe(2);
    });
  });

  describe('DescribeConfigs', () => {
    it('filters by config name, reports synonyms, and describes the broker', async () => {
      broker.createTopics({ name: 'configured', partitions: 1, configs: { 'cleanup.policy': 'compact' } });
      const { resources } = await admin.describeConfigs({
        includeSynonyms: true,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: 'configured', configNames: ['cleanup.policy', 'no.such.config'] },
          { type: ConfigResourceTypes.BROKER, name: '0' },
        ],
      });
      const [topic, brokerResource] = resources;
      expect(topic.configEntries).toEqual([
        expect.objectContaining({
          configName: 'cleanup.policy',
          configValue: 'compact',
          configSource: 1,
          configSynonyms: [
            { configName: 'cleanup.policy', configValue: 'compact', configSource: 1 },
            { configName: 'log.cleanup.policy', configValue: 'delete', configSource: 5 },
          ],
        }),
      ]);
      const brokerConfigs = Object.fromEntries(brokerResource.configEntries.map((c) => [c.configName, c.configValue]));
      expect(brokerConfigs).toMatchObject({ 'broker.id': '0', 'num.partitions': '3', 'auto.create.topics.enable': 'false' });
    });

    it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic', async () => {
      const error = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'nope' }] }).catch((e) => e);
      expect(error).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    });

    it('serves v0 (is_default) and v3 (config type and documentation)', async () => {
      broker.createTopics({ name: 'described', partitions: 1, configs: { 'retention.ms': '5' } });
      const send = (version: number) =>
        raw.request({
          apiKey: ApiKey.DescribeConfigs,
          apiVersion: version,
          body: (w) => {
            w.array([0], (w) => w.int8(2).string('described').array(['retention.ms', 'cleanup.policy'], (w, n) => w.string(n)));
            if (version >= 1) w.bool(false);
            if (version >= 3) w.bool(true);
          },
        });
      const v0 = await send(0);
      expect(v0.int32()).toBe(0);
      const v0Entries = v0.array((r) => {
        expect([r.int16(), r.nullableString(), r.int8(), r.string()]).toEqual([0, null, 2, 'described']);
        return r.array((r) => ({ name: r.string(), value: r.nullableString(), readOnly: r.bool(), isDefault: r.bool(), sensitive: r.bool() }));
      });
      expect(v0Entries[0]).toEqual([
        { name: 'retention.ms', value: '5', readOnly: false, isDefault: false, sensitive: false },
        { name: 'cleanup.policy', value: 'delete', readOnly: false, isDefault: true, sensitive: false },
      ]);
      expect(v0.remaining).toBe(0);

      const v3 = await send(3);
      expect(v3.int32()).toBe(0);
      const v3Entries = v3.array((r) => {
        expect([r.int16(), r.nullableString(), r.int8(), r.string()]).toEqual([0, null, 2, 'described']);
        return r.array((r) => ({
          name: r.string(),
          value: r.nullableString(),
          readOnly: r.bool(),
          source: r.int8(),
          sensitive: r.bool(),
          synonyms: r.array((r) => [r.string(), r.nullableString(), r.int8()]),
          type: r.int8(),
          documentation: r.nullableString(),
        }));
      });
      expect(v3Entries[0].map((e) => [e.name, e.source, e.type, e.documentation])).toEqual([
        ['retention.ms', 1, 5, null],
        ['cleanup.policy', 5, 7, null],
      ]);
      expect(v3.remaining).toBe(0);
    });
  });

  describe('DeleteRecords', () => {
    it('moves the log start, reported as the low watermark and by ListOffsets', async () => {
      broker.createTopics({ name: 'trimmed', partitions: 1 });
      const kafka = kafkaFor(broker);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'trimmed', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
      await producer.disconnect();

      await admin.fetchTopicMetadata({ topics: ['trimmed'] }); // kafkajs's deleteTopicRecords needs the topic's metadata loaded
      await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '4' }] });
      expect(broker.offsets('trimmed')).toEqual([{ partition: 0, logStartOffset: 4, endOffset: 10 }]);
      const [offsets] = await admin.fetchTopicOffsets('trimmed');
      expect(offsets).toMatchObject({ low: '4', high: '10' });
      expect(broker.records('trimmed').map((r) => r.value?.toString())).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);

      // An offset before the log start changes nothing; -1 means the high watermark.
      await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '2' }] });
      expect(broker.offsets('trimmed')[0].logStartOffset).toBe(4);
      await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '-1' }] });
      expect(broker.offsets('trimmed')[0].logStartOffset).toBe(10);
      expect(broker.records('trimmed')).toEqual([]);
    });

    it('answers OFFSET_OUT_OF_RANGE beyond the end and UNKNOWN_TOPIC_OR_PARTITION for a missing partition', async () => {
      broker.createTopics({ name: 'short', partitions: 1 });
      await admin.fetchTopicMetadata({ topics: ['short'] });
      const error = await admin.deleteTopicRecords({ topic: 'short', partitions: [{ partition: 0, offset: '5' }] }).catch((e) => e);
      expect(error.name).toBe('KafkaJSNonRetriableError');
      expect(error.cause.name).toBe('KafkaJSDeleteTopicRecordsError');
      expect(error.cause.partitions[0].error.type).toBe('OFFSET_OUT_OF_RANGE');

      const r = await raw.request({
        apiKey: ApiKey.DeleteRecords,
        apiVersion: 1,
        body: (w) =>
          w
            .array(['short', 'ghost'], (w, n) => w.string(n).array([0, 7], (w, p) => w.int32(p).int64(0)))
            .int32(1000),
      });
      expect(r.int32()).toBe(0);
      const topics = r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int64(), r.int16()])]);
      expect(topics).toEqual([
        ['short', [[0, 0, 0], [7, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['ghost', [[0, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [7, -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ]);
    });
  });

  describe('InitProducerId', () => {
    it('hands out distinct producer ids, and an idempotent kafkajs producer writes through them', async () => {
      const ids: number[] = [];
      for (const version of [0, 1]) {
        const r = await raw.request({ apiKey: ApiKey.InitProducerId, apiVersion: version, body: (w) => w.nullableString(null).int32(60_000) });
        expect([r.int32(), r.int16()]).toEqual([0, 0]);
        ids.push(r.int64());
        expect(r.int16()).toBe(0);
      }
      expect(ids[0]).toBeGreaterThanOrEqual(0);
      expect(ids[1]).not.toBe(ids[0]);

      broker.createTopics({ name: 'idempotent', partitions: 1 });
      const producer = kafkaFor(broker).producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic: 'idempotent', acks: -1, messages: [{ value: 'once' }] });
      await producer.disconnect();
      expect(broker.records('idempotent').map((r) => r.value?.toString())).toEqual(['once']);
    });

    it('serves a transactional id (transactions.test.ts covers the rest): the same producer id, epoch bumped', async () => {
      const init = async () => {
        const r = await raw.request({ apiKey: ApiKey.InitProducerId, apiVersion: 1, body: (w) => w.nullableString('tx-1').int32(60_000) });
        return [r.int32(), r.int16(), r.int64(), r.int16()];
      };
      const [, error, producerId, epoch] = await init();
      expect([error, epoch]).toEqual([ErrorCode.NONE, 0]);
      expect(await init()).toEqual([0, ErrorCode.NONE, producerId, 1]);
    });
  });

  it('advertises the admin API versions in ApiVersions', async () => {
    const r = await raw.request({ apiKey: ApiKey.ApiVersions, apiVersion: 0 });
    expect(r.int16()).toBe(0);
    const versions = new Map(r.array((r) => [r.int16(), [r.int16(), r.int16()]] as const));
    expect(versions.get(ApiKey.CreateTopics)).toEqual([0, 4]);
    expect(versions.get(ApiKey.DeleteTopics)).toEqual([0, 3]);
    expect(versions.get(ApiKey.DeleteRecords)).toEqual([0, 1]);
    expect(versions.get(ApiKey.InitProducerId)).toEqual([0, 1]);
    expect(versions.get(ApiKey.AddPartitionsToTxn)).toEqual([0, 2]);
    expect(versions.get(ApiKey.AddOffsetsToTxn)).toEqual([0, 2]);
    expect(versions.get(ApiKey.EndTxn)).toEqual([0, 2]);
    expect(versions.get(ApiKey.TxnOffsetCommit)).toEqual([0, 2]);
    expect(versions.get(ApiKey.DescribeConfigs)).toEqual([0, 3]);
    expect(versions.get(ApiKey.CreatePartitions)).toEqual([0, 1]);
  });
});

describe('admin APIs across nodes', () => {
  let broker: EmbeddedKafkaBroker;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2 });
  });
  afterAll(async () => broker?.stop());

  it('answers NOT_CONTROLLER on a node that is not the controller, and kafkajs goes to the controller', async () => {
    const raw = await RawClient.connect(portOf(broker, 1));
    try {
      const create = await raw.request({
        apiKey: ApiKey.CreateTopics,
        apiVersion: 2,
        body: (w) => w.array(['elsewhere'], (w, n) => w.string(n).int32(1).int16(1).array([], () => {}).array([], () => {})).int32(1000).bool(false),
      });
      expect(create.int32()).toBe(0);
      expect(topicResults(create, true)).toEqual([{ name: 'elsewhere', errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null }]);

      const del = await raw.request({ apiKey: ApiKey.DeleteTopics, apiVersion: 1, body: (w) => w.array(['elsewhere'], (w, n) => w.string(n)).int32(1000) });
      expect(del.int32()).toBe(0);
      expect(topicResults(del, false)[0].errorCode).toBe(ErrorCode.NOT_CONTROLLER);

      const grow = await raw.request({
        apiKey: ApiKey.CreatePartitions,
        apiVersion: 0,
        body: (w) => w.array(['elsewhere'], (w, n) => w.string(n).int32(2).nullableArray(null, () => {})).int32(1000).bool(false),
      });
      expect(grow.int32()).toBe(0);
      expect(topicResults(grow, true)[0].errorCode).toBe(ErrorCode.NOT_CONTROLLER);

      // a broker resource must name the node asked
      const describe = await raw.request({
        apiKey: ApiKey.DescribeConfigs,
        apiVersion: 1,
        body: (w) => w.array(['0'], (w, n) => w.int8(4).string(n).nullableArray(null, () => {})).bool(false),
      });
      expect([describe.int32(), describe.int32()]).toEqual([0, 1]); // throttle_time_ms, one result
      expect(describe.int16()).toBe(ErrorCode.INVALID_REQUEST);
      expect(describe.nullableString()).toMatch(/expected 1 or empty string, but received 0/);
    } finally {
      raw.close();
    }

    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'elsewhere', numPartitions: 4, replicationFactor: 2 }] })).toBe(true);
      const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }] });
      expect(resources[0].configEntries.find((c) => c.configName === 'broker.id')?.configValue).toBe('1');
      const error = await admin.createTopics({ topics: [{ topic: 'over', numPartitions: 1, replicationFactor: 3 }] }).catch((e) => e);
      expect(error.errors[0].type).toBe('INVALID_REPLICATION_FACTOR');
    } finally {
      await admin.disconnect();
    }
  });

  it('retries CreatePartitions on an injected NOT_CONTROLLER; CreateTopics reports it per topic', async () => {
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      broker.createTopics({ name: 'after-fault', partitions: 1 });
      const fault = broker.injectFault({ apiKey: ApiKey.CreatePartitions, errorCode: ErrorCode.NOT_CONTROLLER, count: 1 });
      await admin.createPartitions({ topicPartitions: [{ topic: 'after-fault', count: 2 }] });
      await fault.exhausted;
      expect(broker.partitionCount('after-fault')).toBe(2);

      // kafkajs wraps per-topic CreateTopics errors in an aggregate error, which its retry does not recognise
      broker.injectFault({ apiKey: ApiKey.CreateTopics, errorCode: ErrorCode.NOT_CONTROLLER, count: 1 });
      const error = await admin.createTopics({ topics: [{ topic: 'not-created', numPartitions: 1 }] }).catch((e) => e);
      expect(error.errors.map((e: any) => e.type)).toEqual(['NOT_CONTROLLER']);
      expect(broker.topicNames()).not.toContain('not-created');
    } finally {
      await admin.disconnect();
    }
  });
});
