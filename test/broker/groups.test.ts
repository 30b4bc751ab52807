import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import { AssignerProtocol, type Consumer, type ConsumerConfig, Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Reader } from '../../libs/broker/src/protocol/reader.js';
import { RawClient } from './raw-client.js';
import { waitFor } from './support/wait.js';

/** Partitions per topic in a consumer-protocol assignment, as the broker stores it (empty bytes: nothing). */
function decodeAssignment(bytes: Buffer): Record<string, number[]> {
  if (bytes.length === 0) return {};
  return AssignerProtocol.MemberAssignment.decode(bytes)?.assignment ?? {};
}

function partitionsOf(bytes: Buffer, topic: string): number[] {
  return [...(decodeAssignment(bytes)[topic] ?? [])].sort((a, b) => a - b);
}

/** The kafkajs round-robin protocol as a raw member announces it, so it can share a group with kafkajs. */
function roundRobin(topics: string[]) {
  return [{ name: 'RoundRobinAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }];
}

interface RawJoin {
  groupId: string;
  memberId?: string;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  protocolType?: string;
  protocols: { name: string; metadata: Buffer }[];
  version?: number;
}

/** JoinGroup over a raw socket; resolves when the broker answers (after the rebalance completes). */
async function rawJoin(client: RawClient, j: RawJoin) {
  const v = j.version ?? 3;
  const r = await client.request({
    apiKey: ApiKey.JoinGroup,
    apiVersion: v,
    clientId: 'raw-member',
    body: (w) => {
      w.string(j.groupId).int32(j.sessionTimeoutMs ?? 6000);
      if (v >= 1) w.int32(j.rebalanceTimeoutMs ?? 6000);
      w.string(j.memberId ?? '');
      if (v >= 5) w.nullableString(null);
      w.string(j.protocolType ?? 'consumer');
      w.array(j.protocols, (w, p) => w.string(p.name).bytes(p.metadata));
    },
  });
  if (v >= 2) r.int32();
  const errorCode = r.int16();
  const generationId = r.int32();
  const protocol = r.string();
  const leader = r.string();
  const memberId = r.string();
  const members = r.array((r) => {
    const id = r.string();
    if (v >= 5) r.nullableString();
    return { memberId: id, metadata: Buffer.from(r.bytes()) };
  });
  return { errorCode, generationId, protocol, leader, memberId, members };
}

async function rawSync(client: RawClient, groupId: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[] = []) {
  const r = await client.request({
    apiKey: ApiKey.SyncGroup,
    apiVersion: 2,
    body: (w) => w.string(groupId).int32(generationId).string(memberId).array(assignments, (w, a) => w.string(a.memberId).bytes(a.assignment)),
  });
  r.int32();
  return { errorCode: r.int16(), assignment: Buffer.from(r.bytes()) };
}

async function rawHeartbeat(client: RawClient, groupId: string, generationId: number, memberId: string): Promise<number> {
  const r = await client.request({ apiKey: ApiKey.Heartbeat, apiVersion: 2, body: (w) => w.string(groupId).int32(generationId).string(memberId) });
  r.int32();
  return r.int16();
}

/** OffsetCommit v2 (group membership, retention time) over a raw socket; the error code of each partition. */
async function rawCommit(client: RawClient, groupId: string, generationId: number, memberId: string, topic: string, partitions: { partition: number; offset: number; metadata: string | null }[]) {
  const r = await client.request({
    apiKey: ApiKey.OffsetCommit,
    apiVersion: 2,
    body: (w) =>
      w
        .string(groupId)
        .int32(generationId)
        .string(memberId)
        .int64(-1)
        .array([topic], (w, t) => w.string(t).array(partitions, (w, p) => w.int32(p.partition).int64(p.offset).nullableString(p.metadata))),
  });
  return r.array((r) => ({ topic: r.string(), partitions: r.array((r) => ({ partition: r.int32(), errorCode: r.int16() })) }))[0].partitions;
}

/** OffsetFetch at `version` (1-5); topics null asks for every committed partition (v2+). */
async function rawFetchOffsets(client: RawClient, version: number, groupId: string, topics: { topic: string; partitions: number[] }[] | null) {
  const r: Reader = await client.request({
    apiKey: ApiKey.OffsetFetch,
    apiVersion: version,
    body: (w) => w.string(groupId).nullableArray(topics, (w, t) => w.string(t.topic).array(t.partitions, (w, p) => w.int32(p))),
  });
  if (version >= 3) r.int32();
  const result = r.array((r) => ({
    topic: r.string(),
    partitions: r.array((r) => {
      const partition = r.int32();
      const offset = r.int64();
      if (version >= 5) r.int32();
      return { partition, offset, metadata: r.nullableString(), errorCode: r.int16() };
    }),
  }));
  return { topics: result, errorCode: version >= 2 ? r.int16() : 0 };
}

describe('consumer groups with kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  const consumers: Consumer[] = [];
  const raws: RawClient[] = [];

  beforeAll(async () => {
    // A low minimum session timeout lets a raw member "crash" quickly in the session-expiry story.
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, groupMinSessionTimeoutMs: 100 });
    kafka = new Kafka({ brokers: broker.brokers, clientId: 'groups-test', logLevel: logLevel.NOTHING });
  });

  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  });

  afterAll(async () => {
    await broker?.stop();
  });

  async function produce(topic: string, values: string[], partition?: number): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
    await producer.disconnect();
  }

  function consumer(groupId: string, options: Partial<ConsumerConfig> = {}): Consumer {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 100, maxWaitTimeInMs: 100, ...options });
    consumers.push(c);
    return c;
  }

  async function raw(): Promise<RawClient> {
    const client = await RawClient.connect(broker.nodes[0].address.split(':').map(Number)[1]);
    raws.push(client);
    return client;
  }

  /** Starts a consumer and records, by member id, the assignment of the latest generation it joined. */
  async function member(groupId: string, topic: string, joins: Map<string, { generationId: number; partitions: number[] }>): Promise<Consumer> {
    const c = consumer(groupId);
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      const partitions = [...((payload.memberAssignment as Record<string, number[]>)[topic] ?? [])].sort((a, b) => a - b);
      joins.set(payload.memberId, { generationId: broker.describeGroup(groupId)?.generationId ?? -1, partitions });
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async () => {} });
    return c;
  }

  /** Waits until the group is Stable with `size` members and every member has joined the current generation. */
  async function stableGroup(groupId: string, size: number, joins: Map<string, { generationId: number; partitions: number[] }>) {
    return waitFor(
      () => {
        const g = broker.describeGroup(groupId);
        if (g?.state !== 'Stable' || g.members.length !== size) return undefined;
        return g.members.every((m) => joins.get(m.memberId)?.generationId === g.generationId) ? g : undefined;
      },
      15_000,
      `group ${groupId} stable with ${size} members`,
    );
  }

  it('three consumers on six partitions get two each; when one leaves, the other two get three each', async () => {
    broker.createTopics({ name: 'six', partitions: 6 });
    const joins = new Map<string, { generationId: number; partitions: number[] }>();
    const members = await Promise.all([1, 2, 3].map(() => member('six-group', 'six', joins)));

    const three = await stableGroup('six-group', 3, joins);
    expect(three.protocolType).toBe('consumer');
    expect(three.protocol).toBe('RoundRobinAssigner');
    for (const m of three.members) {
      // What the broker stored from the leader is what each kafkajs member says it got.
      expect(partitionsOf(m.assignment, 'six')).toEqual(joins.get(m.memberId)!.partitions);
      expect(joins.get(m.memberId)!.partitions).toHaveLength(2);
    }
    expect(three.members.flatMap((m) => partitionsOf(m.assignment, 'six')).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    await members[2].disconnect();
    const two = await stableGroup('six-group', 2, joins);
    expect(two.generationId).toBeGreaterThan(three.generationId);
    for (const m of two.members) expect(joins.get(m.memberId)!.partitions).toHaveLength(3);
    expect(two.members.flatMap((m) => joins.get(m.memberId)!.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(broker.listGroups()).toContainEqual({ groupId: 'six-group', protocolType: 'consumer', state: 'Stable' });
  });

  it('a fourth consumer on a three-partition topic gets nothing', async () => {
    broker.createTopics({ name: 'three', partitions: 3 });
    const joins = new Map<string, { generationId: number; partitions: number[] }>();
    await Promise.all([1, 2, 3, 4].map(() => member('three-group', 'three', joins)));

    const g = await stableGroup('three-group', 4, joins);
    const counts = g.members.map((m) => joins.get(m.memberId)!.partitions.length).sort();
    expect(counts).toEqual([0, 1, 1, 1]);
    expect(g.members.flatMap((m) => partitionsOf(m.assignment, 'three')).sort()).toEqual([0, 1, 2]);
  });

  it('committed offsets survive a consumer restart: a new consumer resumes after the last commit', async () => {
    broker.createTopics({ name: 'resume', partitions: 1 });
    await produce('resume', ['r0', 'r1', 'r2', 'r3', 'r4']);

    const before: string[] = [];
    const c1 = consumer('resume-group');
    await c1.connect();
    await c1.subscribe({ topic: 'resume', fromBeginning: true });
    await c1.run({ eachMessage: async ({ message }) => void before.push(message.value!.toString()) });
    await waitFor(() => broker.committedOffsets('resume-group')[0]?.offset === 5, 10_000, 'the commit of offset 5');
    expect(before).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    await c1.disconnect();
    expect(broker.describeGroup('resume-group')?.state).toBe('Empty');

    await produce('resume', ['r5', 'r6']);
    expect(broker.lag('resume-group')).toEqual([{ topic: 'resume', partition: 0, committedOffset: 5, endOffset: 7, lag: 2 }]);

    const after: string[] = [];
    const c2 = consumer('resume-group');
    await c2.connect();
    await c2.subscribe({ topic: 'resume', fromBeginning: true });
    await c2.run({ eachMessage: async ({ message }) => void after.push(message.value!.toString()) });
    await waitFor(() => broker.lag('resume-group')[0]?.lag === 0, 10_000, 'the group to catch up');
    expect(after).toEqual(['r5', 'r6']);
    expect(broker.committedOffsets('resume-group')).toEqual([{ topic: 'resume', partition: 0, offset: 7, metadata: '' }]);
  });

  it('a member whose heartbeats stop is removed when its session times out, and the group rebalances', async () => {
    broker.createTopics({ name: 'crash', partitions: 2 });
    const joins = new Map<string, { generationId: number; partitions: number[] }>();
    await member('crash-group', 'crash', joins);
    await stableGroup('crash-group', 1, joins);

    // A raw member joins with a 1 s session; the kafkajs member learns of the rebalance by heartbeat.
    const client = await raw();
    const joined = await rawJoin(client, { groupId: 'crash-group', sessionTimeoutMs: 1000, rebalanceTimeoutMs: 10_000, protocols: roundRobin(['crash']) });
    expect(joined.errorCode).toBe(0);
    const synced = await rawSync(client, 'crash-group', joined.generationId, joined.memberId);
    expect(synced.errorCode).toBe(0);
    expect(partitionsOf(synced.assignment, 'crash')).toHaveLength(1);
    joins.set(joined.memberId, { generationId: joined.generationId, partitions: partitionsOf(synced.assignment, 'crash') });
    const shared = await stableGroup('crash-group', 2, joins);
    expect(shared.members.map((m) => m.clientId).sort()).toEqual(['groups-test', 'raw-member']);

    // The raw member now goes silent without leaving: its session expires and it is dropped.
    const alone = await stableGroup('crash-group', 1, joins);
    expect(alone.generationId).toBeGreaterThan(joined.generationId);
    expect(alone.members[0].memberId).not.toBe(joined.memberId);
    expect(joins.get(alone.members[0].memberId)!.partitions).toEqual([0, 1]);
    expect(await rawHeartbeat(client, 'crash-group', joined.generationId, joined.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a leader that heartbeats but never sends SyncGroup is removed after the rebalance timeout, and the group recovers (KAFKA-12890)', async () => {
    broker.createTopics({ name: 'unsynced', partitions: 2 });
    const groupId = 'unsynced-group';
    const join = await raw();
    const beat = await raw();
    const rawMember = { groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000, protocols: roundRobin(['unsynced']) };
    const first = await rawJoin(join, rawMember);
    expect(first.leader).toBe(first.memberId);
    expect((await rawSync(join, groupId, first.generationId, first.memberId)).errorCode).toBe(0); // well behaved, so far

    // a kafkajs consumer joins; the raw member rejoins and leads the new generation, then never syncs
    const seen: string[] = [];
    const c = consumer(groupId, { rebalanceTimeout: 1000 });
    await c.connect();
    await c.subscribe({ topic: 'unsynced', fromBeginning: true });
    // run() resolves once kafkajs has joined, which needs the raw member to rejoin first
    const running = c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => broker.describeGroup(groupId)?.state === 'PreparingRebalance', 10_000, 'the kafkajs member to join');
    const second = await rawJoin(join, { ...rawMember, memberId: first.memberId });
    expect(second).toMatchObject({ errorCode: 0, leader: first.memberId, generationId: first.generationId + 1 });
    expect(second.members).toHaveLength(2);

    // it keeps heartbeating (a client's heartbeat interval, not a wait), which alone would keep it in the group
    const beats: number[] = [];
    const heartbeats = (async () => {
      while ((beats.at(-1) ?? 0) === 0 && beat.isOpen) {
        beats.push(await rawHeartbeat(beat, groupId, second.generationId, first.memberId));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })().catch(() => {}); // the connection closes at the end of a failed run

    await produce('unsynced', ['after the stall']);
    await waitFor(() => seen.includes('after the stall'), 15_000, 'the kafkajs member to consume once the silent leader is gone');
    await running;
    await heartbeats;
    expect(beats.at(-1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(beats.slice(0, -1).every((b) => b === 0)).toBe(true);
    const group = broker.describeGroup(groupId)!;
    expect(group.state).toBe('Stable');
    expect(group.generationId).toBeGreaterThan(second.generationId);
    expect(group.members.map((m) => m.clientId)).toEqual(['groups-test']);
  });

  it('admin describeGroups, listGroups and fetchOffsets report what kafkajs committed, as the broker does', async () => {
    broker.createTopics({ name: 'admin-ops', partitions: 2 });
    await produce('admin-ops', ['a', 'b', 'c'], 0);
    await produce('admin-ops', ['d'], 1);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const c = consumer('admin-group');
      await c.connect();
      await c.subscribe({ topic: 'admin-ops', fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
      await waitFor(() => broker.lag('admin-group').every((p) => p.lag === 0) && broker.committedOffsets('admin-group').length === 2, 10_000, 'the commits');

      const { groups } = await admin.describeGroups(['admin-group']);
      expect(groups[0]).toMatchObject({ groupId: 'admin-group', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
      expect(groups[0].members).toHaveLength(1);
      expect(groups[0].members[0]).toMatchObject({ clientId: 'groups-test', clientHost: '/127.0.0.1' });
      expect(partitionsOf(groups[0].members[0].memberAssignment, 'admin-ops')).toEqual([0, 1]);
      expect(broker.describeGroup('admin-group')!.members[0].memberId).toBe(groups[0].members[0].memberId);

      const listed = await admin.listGroups();
      expect(listed.groups).toContainEqual({ groupId: 'admin-group', protocolType: 'consumer' });

      const fetched = await admin.fetchOffsets({ groupId: 'admin-group', topics: ['admin-ops'] });
      expect(fetched).toEqual([
        {
          topic: 'admin-ops',
          partitions: [
            { partition: 0, offset: '3', metadata: null },
            { partition: 1, offset: '1', metadata: null },
          ],
        },
      ]);
      expect(broker.committedOffsets('admin-group')).toEqual([
        { topic: 'admin-ops', partition: 0, offset: 3, metadata: '' },
        { topic: 'admin-ops', partition: 1, offset: 1, metadata: '' },
      ]);

      await c.disconnect();
      expect((await admin.describeGroups(['admin-group'])).groups[0].state).toBe('Empty');

      // A group that does not exist is described as Dead, and has no offsets and no lag entries.
      expect((await admin.describeGroups(['nobody'])).groups[0]).toMatchObject({ groupId: 'nobody', state: 'Dead', members: [] });
      expect(broker.describeGroup('nobody')).toBeUndefined();
      expect(broker.committedOffsets('nobody')).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('admin setOffsets and resetOffsets move the offsets of an Empty group', async () => {
    broker.createTopics({ name: 'admin-seek', partitions: 2 });
    await produce('admin-seek', ['a', 'b', 'c'], 0);
    await produce('admin-seek', ['d'], 1);
    const client = await raw();
    for (const groupId of ['set-group', 'reset-group']) {
      await rawCommit(client, groupId, -1, '', 'admin-seek', [
        { partition: 0, offset: 3, metadata: null },
        { partition: 1, offset: 1, metadata: null },
      ]);
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Each call runs a paused kafkajs consumer that sleeps its 5 s max wait before committing; run both at once.
      await Promise.all([
        admin.setOffsets({ groupId: 'set-group', topic: 'admin-seek', partitions: [{ partition: 0, offset: '1' }] }),
        admin.resetOffsets({ groupId: 'reset-group', topic: 'admin-seek', earliest: true }),
      ]);
      expect(broker.committedOffsets('set-group')[0]).toEqual({ topic: 'admin-seek', partition: 0, offset: 1, metadata: '' });
      expect(broker.lag('set-group')[0]).toEqual({ topic: 'admin-seek', partition: 0, committedOffset: 1, endOffset: 3, lag: 2 });
      // kafkajs commits its "earliest" sentinel (-2) as it would to Kafka, and resolves it when a consumer starts.
      expect(broker.committedOffsets('reset-group').map((o) => o.offset)).toEqual([-2, -2]);
      const reset = await admin.fetchOffsets({ groupId: 'reset-group', topics: ['admin-seek'] });
      expect(reset[0].partitions.map((p) => p.offset)).toEqual(['-2', '-2']);
      expect(broker.lag('reset-group').map((p) => p.lag)).toEqual([3, 1]);
      expect(broker.describeGroup('reset-group')).toMatchObject({ state: 'Empty', members: [] });
    } finally {
      await admin.disconnect();
    }
  });

  it('lag of a partition without a commit counts from the log start', async () => {
    broker.createTopics({ name: 'lagging', partitions: 2 });
    await produce('lagging', ['x', 'y', 'z'], 1);
    const client = await raw();
    expect(await rawCommit(client, 'lag-group', -1, '', 'lagging', [{ partition: 0, offset: 0, metadata: null }])).toEqual([{ partition: 0, errorCode: 0 }]);
    expect(broker.lag('lag-group')).toEqual([
      { topic: 'lagging', partition: 0, committedOffset: 0, endOffset: 0, lag: 0 },
      { topic: 'lagging', partition: 1, committedOffset: -1, endOffset: 3, lag: 3 },
    ]);
  });

  it('JoinGroup v4 hands out a member id first; bad session timeouts and foreign protocols are refused', async () => {
    const client = await raw();
    const protocols = roundRobin(['anything']);
    const first = await rawJoin(client, { groupId: 'raw-join', version: 4, protocols });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^raw-member-[0-9a-f-]{36}$/);

    const second = await rawJoin(client, { groupId: 'raw-join', version: 4, memberId: first.memberId, protocols });
    expect(second).toMatchObject({ errorCode: 0, generationId: 1, protocol: 'RoundRobinAssigner', leader: first.memberId, memberId: first.memberId });
    expect(second.members).toEqual([{ memberId: first.memberId, metadata: protocols[0].metadata }]);
    expect(broker.describeGroup('raw-join')?.state).toBe('CompletingRebalance');
    expect(await rawHeartbeat(client, 'raw-join', 0, first.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await rawSync(client, 'raw-join', 1, 'stranger')).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await rawHeartbeat(client, 'raw-join', 1, first.memberId)).toBe(0);

    const other = await raw();
    expect((await rawJoin(other, { groupId: 'raw-join', sessionTimeoutMs: 50, protocols })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await rawJoin(other, { groupId: 'raw-join', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await rawJoin(other, { groupId: 'raw-join', protocolType: 'connect', protocols })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await rawJoin(other, { groupId: 'raw-join', memberId: 'made-up', protocols })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    // The leader syncs: the group is Stable and the assignment comes back; a commit of the generation passes.
    const assignment = Buffer.from('opaque-assignment');
    expect(await rawSync(client, 'raw-join', 1, first.memberId, [{ memberId: first.memberId, assignment }])).toEqual({ errorCode: 0, assignment });
    expect(broker.describeGroup('raw-join')).toMatchObject({ state: 'Stable', generationId: 1, protocol: 'RoundRobinAssigner' });
    broker.createTopics({ name: 'raw-join-topic', partitions: 1 });
    expect(await rawCommit(client, 'raw-join', 1, first.memberId, 'raw-join-topic', [{ partition: 0, offset: 0, metadata: null }])).toEqual([{ partition: 0, errorCode: 0 }]);
    expect(await rawCommit(client, 'raw-join', -1, '', 'raw-join-topic', [{ partition: 0, offset: 0, metadata: null }])).toEqual([{ partition: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }]);
  });

  it('a second member makes the first rejoin; the follower gets the assignment the leader sent; LeaveGroup v3 rebalances', async () => {
    const a = await raw();
    const b = await raw();
    const protocols = roundRobin(['t']);
    const leader = await rawJoin(a, { groupId: 'raw-pair', protocols });
    await rawSync(a, 'raw-pair', leader.generationId, leader.memberId, [{ memberId: leader.memberId, assignment: Buffer.from('A1') }]);

    const followerJoin = rawJoin(b, { groupId: 'raw-pair', protocols });
    await waitFor(() => broker.describeGroup('raw-pair')?.state === 'PreparingRebalance', 5000, 'the rebalance');
    expect(await rawHeartbeat(a, 'raw-pair', leader.generationId, leader.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await rawJoin(a, { groupId: 'raw-pair', memberId: leader.memberId, protocols });
    const follower = await followerJoin;
    expect(rejoined.generationId).toBe(leader.generationId + 1);
    expect(follower.generationId).toBe(rejoined.generationId);
    expect(follower.leader).toBe(leader.memberId);
    expect(follower.members).toEqual([]);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([leader.memberId, follower.memberId]);

    const followerSync = rawSync(b, 'raw-pair', follower.generationId, follower.memberId);
    const leaderSync = await rawSync(a, 'raw-pair', rejoined.generationId, leader.memberId, [
      { memberId: leader.memberId, assignment: Buffer.from('A2') },
      { memberId: follower.memberId, assignment: Buffer.from('B2') },
    ]);
    expect(leaderSync.assignment.toString()).toBe('A2');
    expect((await followerSync).assignment.toString()).toBe('B2');

    // LeaveGroup v3 by member id: the remaining member is alone in the next generation.
    const r = await b.request({ apiKey: ApiKey.LeaveGroup, apiVersion: 3, body: (w) => w.string('raw-pair').array([follower.memberId], (w, id) => w.string(id).nullableString(null)) });
    r.int32();
    expect(r.int16()).toBe(0);
    expect(r.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString(), errorCode: r.int16() }))).toEqual([{ memberId: follower.memberId, groupInstanceId: null, errorCode: 0 }]);
    expect(await rawHeartbeat(a, 'raw-pair', rejoined.generationId, leader.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const alone = await rawJoin(a, { groupId: 'raw-pair', memberId: leader.memberId, protocols });
    expect(alone.members.map((m) => m.memberId)).toEqual([leader.memberId]);
  });

  it('committed metadata round-trips through OffsetFetch; uncommitted partitions read -1; simple commits need an Empty group', async () => {
    broker.createTopics({ name: 'meta', partitions: 3 });
    const client = await raw();
    expect(
      await rawCommit(client, 'meta-group', -1, '', 'meta', [
        { partition: 0, offset: 10, metadata: 'checkpoint-A' },
        { partition: 1, offset: 20, metadata: null },
        { partition: 7, offset: 1, metadata: null },
      ]),
    ).toEqual([
      { partition: 0, errorCode: 0 },
      { partition: 1, errorCode: 0 },
      { partition: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
    expect(broker.listGroups()).toContainEqual({ groupId: 'meta-group', protocolType: '', state: 'Empty' });

    for (const version of [1, 2, 3, 4, 5]) {
      const { topics, errorCode } = await rawFetchOffsets(client, version, 'meta-group', [{ topic: 'meta', partitions: [0, 1, 2] }]);
      expect(errorCode).toBe(0);
      expect(topics).toEqual([
        {
          topic: 'meta',
          partitions: [
            { partition: 0, offset: 10, metadata: 'checkpoint-A', errorCode: 0 },
            { partition: 1, offset: 20, metadata: '', errorCode: 0 },
            { partition: 2, offset: -1, metadata: '', errorCode: 0 },
          ],
        },
      ]);
    }
    const all = await rawFetchOffsets(client, 2, 'meta-group', null);
    expect(all.topics).toEqual([
      {
        topic: 'meta',
        partitions: [
          { partition: 0, offset: 10, metadata: 'checkpoint-A', errorCode: 0 },
          { partition: 1, offset: 20, metadata: '', errorCode: 0 },
        ],
      },
    ]);
    expect(broker.committedOffsets('meta-group')).toEqual([
      { topic: 'meta', partition: 0, offset: 10, metadata: 'checkpoint-A' },
      { topic: 'meta', partition: 1, offset: 20, metadata: '' },
    ]);

    // A commit that claims a generation of a group that does not exist is from a stale member.
    expect(await rawCommit(client, 'no-such-group', 3, 'm', 'meta', [{ partition: 0, offset: 1, metadata: null }])).toEqual([{ partition: 0, errorCode: ErrorCode.ILLEGAL_GENERATION }]);

    broker.deleteTopic('meta');
    expect(broker.committedOffsets('meta-group')).toEqual([]);
  });
});

describe('consumer groups on a three-node cluster', () => {
  let broker: EmbeddedKafkaBroker;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ brokers: 3, logger: silentLogger, topics: [{ name: 'spread', partitions: 3 }] });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  const portOf = (nodeId: number) => Number(broker.nodes[nodeId].address.split(':')[1]);

  async function findCoordinator(client: RawClient, key: string) {
    const r = await client.request({ apiKey: ApiKey.FindCoordinator, apiVersion: 1, body: (w) => w.string(key).int8(0) });
    r.int32();
    return { errorCode: r.int16(), errorMessage: r.nullableString(), nodeId: r.int32(), host: r.string(), port: r.int32() };
  }

  it('every node names the same coordinator; the others answer NOT_COORDINATOR; kafkajs works end to end', async () => {
    const clients = await Promise.all([0, 1, 2].map((id) => RawClient.connect(portOf(id))));
    try {
      const answers = await Promise.all(clients.map((c) => findCoordinator(c, 'spread-group')));
      const coordinator = answers[0].nodeId;
      for (const a of answers) expect(a).toEqual({ errorCode: 0, errorMessage: null, nodeId: coordinator, host: '127.0.0.1', port: portOf(coordinator) });

      const wrong = clients.find((_, id) => id !== coordinator)!;
      expect(await rawHeartbeat(wrong, 'spread-group', 1, 'm')).toBe(ErrorCode.NOT_COORDINATOR);
      expect((await rawJoin(wrong, { groupId: 'spread-group', protocols: roundRobin(['spread']) })).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      expect((await rawFetchOffsets(wrong, 2, 'spread-group', null)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      const v1 = await rawFetchOffsets(wrong, 1, 'spread-group', [{ topic: 'spread', partitions: [0] }]);
      expect(v1.topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_COORDINATOR);

      const kafka = new Kafka({ brokers: broker.brokers, clientId: 'cluster-test', logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'spread', messages: ['p0', 'p1', 'p2', 'p0b'].map((value, i) => ({ value, partition: i % 3 })) });
      await producer.disconnect();

      const seen: string[] = [];
      const c = kafka.consumer({ groupId: 'spread-group', sessionTimeout: 6000, heartbeatInterval: 100, maxWaitTimeInMs: 100 });
      await c.connect();
      try {
        await c.subscribe({ topic: 'spread', fromBeginning: true });
        await c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
        await waitFor(() => broker.lag('spread-group').length === 3 && broker.lag('spread-group').every((p) => p.lag === 0), 15_000, 'every partition committed');
        expect(seen.sort()).toEqual(['p0', 'p0b', 'p1', 'p2']);
        expect(broker.committedOffsets('spread-group').map((o) => o.offset)).toEqual([2, 1, 1]);

        // ListGroups: only the coordinator lists the group, so an admin that asks every node sees it once.
        const admin = kafka.admin();
        await admin.connect();
        expect((await admin.listGroups()).groups.filter((g) => g.groupId === 'spread-group')).toHaveLength(1);
        await admin.disconnect();
      } finally {
        await c.disconnect();
      }

      // When the coordinator stops, another node takes over the same group state.
      await broker.stopNode(coordinator);
      const survivor = clients.find((_, id) => id !== coordinator)!;
      const moved = await findCoordinator(survivor, 'spread-group');
      expect(moved.errorCode).toBe(0);
      expect(moved.nodeId).not.toBe(coordinator);
      const onNew = await RawClient.connect(moved.port);
      try {
        const offsets = await rawFetchOffsets(onNew, 5, 'spread-group', null);
        expect(offsets.topics[0].partitions.map((p) => p.offset)).toEqual([2, 1, 1]);
      } finally {
        onNew.close();
      }
      await broker.startNode(coordinator);
      expect((await findCoordinator(survivor, 'spread-group')).nodeId).toBe(coordinator);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
