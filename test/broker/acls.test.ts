/**
 * ACLs with kafkajs over SASL/PLAIN: a super user creates, describes and deletes ACLs; another user is held
 * to them on Produce, Fetch, Metadata, groups, CreateTopics/DeleteTopics and the ACL APIs themselves, with
 * Kafka's errors (TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED); literal and prefixed patterns; deny wins.
 * Without an authorizer everything is allowed and the ACL APIs answer SECURITY_DISABLED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Admin,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Consumer,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { waitFor } from './support/wait.js';

const users = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' };

/** The Kafka error kafkajs reports, also when it wraps it in a non-retriable error. */
const kafkaError = (e: { type?: string; cause?: { type?: string }; message?: string }) => String(e.type ?? e.cause?.type ?? e.message);

describe('ACLs enforced for SASL users', () => {
  let broker: EmbeddedKafkaBroker;
  const open: { disconnect(): Promise<void> }[] = [];
  let admin: Admin;

  const kafkaAs = (user: keyof typeof users) =>
    new Kafka({
      clientId: `acl-${user}`,
      brokers: broker.brokers,
      sasl: { mechanism: 'plain', username: user, password: users[user] },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  const adminAs = async (user: keyof typeof users) => {
    const a = kafkaAs(user).admin();
    await a.connect();
    open.push(a);
    return a;
  };
  const produceAs = async (user: keyof typeof users, topic: string) => {
    const producer = kafkaAs(user).producer();
    await producer.connect();
    open.push(producer);
    return producer.send({ topic, messages: [{ value: `from ${user}` }] }).then(
      () => 'ok',
      kafkaError,
    );
  };
  const allow = (principal: string, resourceType: AclResourceTypes, resourceName: string, operation: AclOperationTypes, prefixed = false) => ({
    resourceType,
    resourceName,
    resourcePatternType: prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({
      logger: silentLogger,
      autoCreateTopics: false,
      sasl: { mechanisms: ['PLAIN'], users },
      acls: { superUsers: ['User:admin'] },
      topics: [
        { name: 'orders', partitions: 1 },
        { name: 'payments-eu', partitions: 1 },
        { name: 'payments-us', partitions: 1 },
      ],
    });
    admin = await adminAs('admin');
  });

  afterAll(async () => {
    for (const c of open.reverse()) await c.disconnect().catch(() => {});
    await broker?.stop();
  });

  it('denies a user without ACLs: no topic visible, produce refused, CreateTopics refused, ACL APIs refused', async () => {
    const bob = await adminAs('bob');
    expect(await bob.listTopics()).toEqual([]);
    expect(await produceAs('bob', 'orders')).toBe('TOPIC_AUTHORIZATION_FAILED');
    const created = await bob.createTopics({ topics: [{ topic: 'bobs-topic' }] }).catch((e) => e);
    expect(JSON.stringify(created.errors ?? created)).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(broker.topicNames()).not.toContain('bobs-topic');
    const described = await bob.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }).catch((e) => e);
    expect(described).toMatchObject({ type: 'CLUSTER_AUTHORIZATION_FAILED' });
    expect(broker.allRecords('orders')).toEqual([]);
  });

  it('allows what the ACLs grant, literal and prefixed, and a DENY wins over an ALLOW', async () => {
    await admin.createAcls({
      acl: [
        allow('User:alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.WRITE),
        allow('User:alice', AclResourceTypes.TOPIC, 'payments-', AclOperationTypes.READ, true),
        allow('User:alice', AclResourceTypes.GROUP, 'alice-', AclOperationTypes.READ, true),
        allow('User:alice', AclResourceTypes.GROUP, 'others', AclOperationTypes.DESCRIBE), // finds its coordinator, may not join
        { ...allow('User:alice', AclResourceTypes.TOPIC, 'payments-us', AclOperationTypes.READ), permissionType: AclPermissionTypes.DENY },
      ],
    });
    const { resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: 'User:alice',
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    expect(resources).toHaveLength(5);

    expect(await produceAs('alice', 'orders')).toBe('ok');
    expect(await produceAs('alice', 'payments-eu')).toBe('TOPIC_AUTHORIZATION_FAILED'); // READ, not WRITE
    const seed = kafkaAs('admin').producer();
    await seed.connect();
    open.push(seed);
    await seed.send({ topic: 'payments-eu', messages: [{ value: 'eu' }] });
    await seed.send({ topic: 'payments-us', messages: [{ value: 'us' }] });

    const alice = await adminAs('alice');
    expect((await alice.listTopics()).sort()).toEqual(['orders', 'payments-eu', 'payments-us']); // READ and WRITE imply DESCRIBE

    // A group consumer of alice reads payments-eu (group alice-* and prefix payments-)...
    const read: string[] = [];
    const consumer: Consumer = kafkaAs('alice').consumer({ groupId: 'alice-readers' });
    open.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'payments-eu', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void read.push(String(message.value)) });
    await waitFor(() => read.length === 1, 20_000, 'alice reads payments-eu');
    expect(read).toEqual(['eu']);

    // ...but not payments-us, where a DENY READ wins over the prefixed ALLOW, nor join a group it may only describe.
    const denied = async (groupId: string, topic: string) => {
      const c = kafkaAs('alice').consumer({ groupId, retry: { retries: 0 } });
      open.push(c);
      const crashed = new Promise<string>((resolve) => c.on(c.events.CRASH, (e) => resolve(kafkaError(e.payload.error as never))));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
      return crashed;
    };
    expect(await denied('alice-us', 'payments-us')).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await denied('others', 'payments-eu')).toBe('GROUP_AUTHORIZATION_FAILED');

    const deletion = await alice.deleteTopics({ topics: ['orders'] }).catch((e) => e);
    expect(kafkaError(deletion)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(broker.topicNames()).toContain('orders');
  });

  it('needs WRITE on a transactional id to use it: TRANSACTIONAL_ID_AUTHORIZATION_FAILED otherwise', async () => {
    const transactional = (user: keyof typeof users, transactionalId: string) => {
      const producer = kafkaAs(user).producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 20 } });
      open.push(producer);
      return producer
        .connect()
        .then(() => producer.transaction())
        .then((txn) => txn.abort())
        .then(
          () => 'ok',
          (e) => kafkaError(e),
        );
    };
    expect(await transactional('bob', 'bobs-txn')).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    await admin.createAcls({ acl: [allow('User:bob', AclResourceTypes.TRANSACTIONAL_ID, 'bobs-', AclOperationTypes.WRITE, true)] });
    expect(await transactional('bob', 'bobs-txn')).toBe('ok');
  });

  it('deletes ACLs: the access they granted goes', async () => {
    const { filterResponses } = await admin.deleteAcls({
      filters: [
        {
          resourceType: AclResourceTypes.TOPIC,
          resourceName: 'orders',
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: 'User:alice',
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      ],
    });
    expect(filterResponses[0].matchingAcls).toEqual([expect.objectContaining({ resourceName: 'orders', operation: AclOperationTypes.WRITE })]);
    expect(await produceAs('alice', 'orders')).toBe('TOPIC_AUTHORIZATION_FAILED');
  });
});

describe('without an authorizer', () => {
  it('allows everything and answers the ACL APIs with SECURITY_DISABLED, as Kafka', async () => {
    const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    const admin = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      const error = await admin
        .describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY })
        .catch((e) => e);
      expect(error).toMatchObject({ type: 'SECURITY_DISABLED' });
      expect(await admin.createTopics({ topics: [{ topic: 'anyone' }] })).toBe(true);
    } finally {
      await admin.disconnect();
      await broker.stop();
    }
  });
});
