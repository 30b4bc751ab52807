/**
 * Consumer groups: the classic rebalance protocol's state machine (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup) and committed offsets, shared by every node of the cluster. A node answers for the groups it
 * coordinates (`cluster.coordinatorOf`); when it stops, another node takes over the same state, so members
 * keep their generation and only have to find the new coordinator.
 *
 * States, as Kafka names them:
 *   Empty ──join──▶ PreparingRebalance ──all members rejoined, or rebalance timeout──▶ CompletingRebalance
 *   CompletingRebalance ──leader's SyncGroup──▶ Stable ──join / leave / session expiry──▶ PreparingRebalance
 *   CompletingRebalance or Stable ──a member sent no SyncGroup within the rebalance timeout──▶ that member
 *     removed, PreparingRebalance (KAFKA-12890)
 *   PreparingRebalance ──no member left──▶ Empty (generation still increments, as in Kafka)
 * Dead is reported for groups that do not exist.
 *
 * Deliberate differences from Apache Kafka: static membership (group.instance.id, KIP-345) is recorded
 * and reported but not honoured: an instance id does not let a restarted member take over its old member id.
 * Groups never expire; offsets stay until their topic is deleted.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { clientText } from './connection-limits.js';
import type { RequestContext } from './handlers/handler.js';
import { OffsetStore, type StoredOffset } from './offsets.js';
import { ErrorCode } from './protocol/error-codes.js';
import { Reader } from './protocol/reader.js';

/** A group's state, spelled as Kafka's DescribeGroups and ListGroups spell it. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** One committed offset of a group, as `EmbeddedKafkaBroker.committedOffsets` reports it. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
}

/** Consumer lag of one partition, as `EmbeddedKafkaBroker.lag` reports it. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset, or -1 when it has committed none for this partition. */
  readonly committedOffset: number;
  /** Log-end offset (high watermark). */
  readonly endOffset: number;
  /** `endOffset - committedOffset`, or `endOffset - logStartOffset` without a commit. */
  readonly lag: number;
}

/** A group as `EmbeddedKafkaBroker.listGroups` reports it. */
export interface GroupListing {
  readonly groupId: string;
  /** 'consumer' for Kafka consumers; '' for a group that only has committed offsets. */
  readonly protocolType: string;
  readonly state: GroupState;
}

/** One member of a group, as `EmbeddedKafkaBroker.describeGroup` reports it. */
export interface GroupMemberDescription {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
  /** The session timeout the member joined with: silent for longer, it is removed from the group. */
  readonly sessionTimeoutMs: number;
  /** The rebalance timeout the member joined with (a Java consumer's `max.poll.interval.ms`). */
  readonly rebalanceTimeoutMs: number;
  /** The assignment the leader gave this member (consumer protocol bytes); empty while rebalancing. */
  readonly assignment: Buffer;
}

/** A group as `EmbeddedKafkaBroker.describeGroup` reports it. */
export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  /** The protocol (assignor) chosen for the current generation, or '' when none is. */
  readonly protocol: string;
  readonly generationId: number;
  readonly members: GroupMemberDescription[];
}

/** A group with everything DescribeGroups reports: members also carry instance id and protocol metadata. */
export interface GroupDetail extends Omit<GroupDescription, 'members'> {
  readonly members: (GroupMemberDescription & { readonly groupInstanceId: string | null; readonly metadata: Buffer })[];
}

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly { name: string; metadata: Buffer }[];
  readonly clientId: string;
  readonly clientHost: string;
  /** JoinGroup v4+: a member without id first gets one with MEMBER_ID_REQUIRED (KIP-394). */
  readonly requireKnownMemberId: boolean;
}

export interface JoinGroupResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  /** Every member with its metadata for the chosen protocol: for the leader only, empty for followers. */
  readonly members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupResult {
  readonly errorCode: number;
  readonly assignment: Buffer;
}

export interface OffsetCommitTopic {
  readonly name: string;
  readonly partitions: readonly { index: number; offset: number; leaderEpoch: number; metadata: string | null }[];
}

export interface OffsetFetchTopic {
  readonly name: string;
  readonly partitions: { index: number; offset: number; leaderEpoch: number; metadata: string; errorCode: number }[];
}

/** Kafka's offset.metadata.max.bytes default: longer commit metadata is refused. */
const MAX_OFFSET_METADATA_BYTES = 4096;

const EMPTY = Buffer.alloc(0);

/**
 * NOT_COORDINATOR when the node that received the request does not coordinate `groupId`,
 * COORDINATOR_NOT_AVAILABLE when no node is live, NONE otherwise.
 */
export function coordinatorError(ctx: RequestContext, groupId: string): number {
  const coordinator = ctx.cluster.coordinatorOf(groupId);
  if (coordinator < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  return coordinator === ctx.node.id ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
}

/** `host` of a client as Kafka reports it in DescribeGroups ('/127.0.0.1'). */
export function clientHostOf(ctx: RequestContext): string {
  return `/${ctx.connection.socket.remoteAddress ?? 'unknown'}`;
}

interface Member {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  /** Answers the member's pending JoinGroup, while it waits for the rebalance to complete. */
  awaitingJoin: ((r: JoinGroupResult) => void) | null;
  /** Answers the member's pending SyncGroup, while it waits for the leader's assignment. */
  awaitingSync: ((r: SyncGroupResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocol: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, each expiring after its session timeout. */
  readonly pending = new Map<string, NodeJS.Timeout>();
  rebalanceTimer: NodeJS.Timeout | null = null;
  /** Members of the current generation that have not sent SyncGroup yet (KAFKA-12890). */
  readonly pendingSync = new Set<string>();
  /** Removes the members still in `pendingSync` once the rebalance timeout has passed. */
  syncTimer: NodeJS.Timeout | null = null;
  /** Set while group.initial.rebalance.delay.ms holds the first rebalance of an empty group. */
  initialDelayDeadline: number | null = null;

  constructor(readonly groupId: string) {}
}

function failedJoin(errorCode: number, memberId: string): JoinGroupResult {
  return { errorCode, generationId: -1, protocolName: null, leader: '', memberId, members: [] };
}

function sameProtocols(a: readonly { name: string; metadata: Buffer }[], b: readonly { name: string; metadata: Buffer }[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata));
}

/** Topics in a consumer-protocol subscription (version INT16, topics [STRING], user_data BYTES, ...). */
function subscribedTopics(metadata: Buffer): string[] {
  try {
    const r = new Reader(metadata);
    r.int16();
    return r.array((r) => r.string());
  } catch {
    return [];
  }
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  readonly offsets: OffsetStore;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly cluster: Cluster) {
    this.offsets = new OffsetStore(cluster.consumerOffsets);
  }

  /** Appends the group's generation, members and assignments to `__consumer_offsets`, as Kafka's storeGroup does. */
  private storeGroup(group: Group): void {
    this.cluster.consumerOffsets.groupChanged({
      groupId: group.groupId,
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocol: group.protocol,
      leaderId: group.members.size > 0 ? group.leaderId : null,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    });
  }

  // ---- timers ------------------------------------------------------------------------------------

  /** A timer that never keeps the process alive and is cancelled by `close()`. */
  private schedule(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
    return t;
  }

  private cancel(t: NodeJS.Timeout | null): null {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    return null;
  }

  /** Restarts a member's session timer; expiry removes it from the group and triggers a rebalance. */
  private touch(group: Group, member: Member): void {
    this.cancel(member.sessionTimer);
    member.sessionTimer = this.schedule(member.sessionTimeoutMs, () => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      // A member waiting on JoinGroup or SyncGroup cannot heartbeat: the rebalance bounds it instead.
      if (member.awaitingJoin || member.awaitingSync) return this.touch(group, member);
      this.cluster.logger.info(`group ${clientText(group.groupId)}: member ${clientText(member.memberId)} session expired after ${member.sessionTimeoutMs} ms`);
      this.removeMember(group, member);
    });
  }

  // ---- JoinGroup ---------------------------------------------------------------------------------

  /** JoinGroup: answers at once on an error, otherwise when the rebalance this join takes part in completes. */
  join(req: JoinGroupRequest): JoinGroupResult | Promise<JoinGroupResult> {
    if (!req.groupId) return failedJoin(ErrorCode.INVALID_GROUP_ID, req.memberId);
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.cluster.options;
    if (req.sessionTimeoutMs < min || req.sessionTimeoutMs > max) return failedJoin(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId);
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberId) return failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
      group = new Group(req.groupId);
      this.groups.set(req.groupId, group);
    }
    if (!this.supportsProtocols(group, req)) return failedJoin(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);

    if (req.memberId === '') {
      const memberId = `${req.clientId}-${randomUUID()}`;
      if (req.requireKnownMemberId) {
        group.pending.set(
          memberId,
          this.schedule(req.sessionTimeoutMs, () => {
            group.pending.delete(memberId);
            this.tryCompleteJoin(group);
          }),
        );
        return failedJoin(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
      return this.addMemberAndRebalance(group, memberId, req);
    }
    const pending = group.pending.get(req.memberId);
    if (pending) {
      this.cancel(pending);
      group.pending.delete(req.memberId);
      return this.addMemberAndRebalance(group, req.memberId, req);
    }
    const member = group.members.get(req.memberId);
    if (!member) return failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req);
      case 'CompletingRebalance':
        // The member lost our JoinGroup response: give it again unless its subscription changed.
        if (sameProtocols(member.protocols, req.protocols)) return this.generationFor(group, member);
        return this.updateMemberAndRebalance(group, member, req);
      case 'Stable':
        if (member.memberId === group.leaderId || !sameProtocols(member.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req);
        }
        this.touch(group, member);
        return this.generationFor(group, member);
      default:
        return failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    }
  }

  /** Whether a joining member's protocol type and protocols fit the group's other members. */
  private supportsProtocols(group: Group, req: JoinGroupRequest): boolean {
    if (req.protocolType === '' || req.protocols.length === 0) return false;
    const others = [...group.members.values()].filter((m) => m.memberId !== req.memberId);
    if (others.length === 0) return true;
    if (group.protocolType !== req.protocolType) return false;
    return req.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinGroupRequest): Promise<JoinGroupResult> {
    const member: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      assignment: EMPTY,
      awaitingJoin: null,
      awaitingSync: null,
      sessionTimer: null,
    };
    if (group.members.size === 0) group.protocolType = req.protocolType;
    group.members.set(memberId, member);
    group.leaderId ??= memberId;
    this.touch(group, member);
    const result = this.awaitJoin(member);
    if (group.initialDelayDeadline !== null) this.extendInitialDelay(group);
    this.prepareRebalance(group, `member ${memberId} joined`);
    return result;
  }

  private updateMemberAndRebalance(group: Group, member: Member, req: JoinGroupRequest): Promise<JoinGroupResult> {
    member.protocols = req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.groupInstanceId = req.groupInstanceId;
    this.touch(group, member);
    const result = this.awaitJoin(member);
    this.prepareRebalance(group, `member ${member.memberId} rejoined`);
    return result;
  }

  private awaitJoin(member: Member): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      // A second JoinGroup from the same member (a client retry on another connection) replaces the first.
      const previous = member.awaitingJoin;
      member.awaitingJoin = resolve;
      previous?.(failedJoin(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    });
  }

  /** The current generation as the member's JoinGroup response. */
  private generationFor(group: Group, member: Member): JoinGroupResult {
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolName: group.protocol,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === group.protocol)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  /** Starts a rebalance (or joins the one under way) and completes it at once if every member is in. */
  private prepareRebalance(group: Group, reason: string): void {
    if (group.state !== 'PreparingRebalance') {
      this.cluster.logger.debug(`group ${group.groupId}: preparing rebalance (${reason})`);
      if (group.state === 'CompletingRebalance') {
        for (const m of group.members.values()) {
          m.assignment = EMPTY;
          const sync = m.awaitingSync;
          m.awaitingSync = null;
          sync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
        }
      }
      this.clearPendingSync(group);
      const wasEmpty = group.state === 'Empty';
      group.state = 'PreparingRebalance';
      const delay = this.cluster.options.groupInitialRebalanceDelayMs;
      if (wasEmpty && delay > 0) {
        group.initialDelayDeadline = Date.now() + this.rebalanceTimeout(group);
        this.extendInitialDelay(group);
      } else {
        group.rebalanceTimer = this.cancel(group.rebalanceTimer);
        group.rebalanceTimer = this.schedule(this.rebalanceTimeout(group), () => {
          group.rebalanceTimer = null;
          this.completeJoin(group);
        });
      }
    }
    this.tryCompleteJoin(group);
  }

  /** (Re)starts group.initial.rebalance.delay.ms, bounded by the rebalance timeout of the first join. */
  private extendInitialDelay(group: Group): void {
    const deadline = group.initialDelayDeadline!;
    const ms = Math.max(0, Math.min(this.cluster.options.groupInitialRebalanceDelayMs, deadline - Date.now()));
    group.rebalanceTimer = this.cancel(group.rebalanceTimer);
    group.rebalanceTimer = this.schedule(ms, () => {
      group.rebalanceTimer = null;
      group.initialDelayDeadline = null;
      if (this.tryCompleteJoin(group)) return;
      group.rebalanceTimer = this.schedule(Math.max(0, deadline - Date.now()), () => {
        group.rebalanceTimer = null;
        this.completeJoin(group);
      });
    });
  }

  private rebalanceTimeout(group: Group): number {
    let ms = 0;
    for (const m of group.members.values()) ms = Math.max(ms, m.rebalanceTimeoutMs);
    return ms;
  }

  /** Completes the rebalance when every member has rejoined and no new member is still fetching its id. */
  private tryCompleteJoin(group: Group): boolean {
    if (group.state !== 'PreparingRebalance' || group.initialDelayDeadline !== null || group.pending.size > 0) return false;
    for (const m of group.members.values()) if (!m.awaitingJoin) return false;
    this.completeJoin(group);
    return true;
  }

  /** Ends PreparingRebalance: drops members that did not rejoin, starts the next generation, answers the joins. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    group.rebalanceTimer = this.cancel(group.rebalanceTimer);
    group.initialDelayDeadline = null;
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin) continue;
      this.cluster.logger.info(`group ${clientText(group.groupId)}: member ${clientText(m.memberId)} did not rejoin in time and is removed`);
      this.cancel(m.sessionTimer);
      group.members.delete(m.memberId);
    }
    if (group.leaderId !== null && !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value ?? null;
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocol = null;
      this.storeGroup(group);
      this.cluster.logger.debug(`group ${group.groupId}: generation ${group.generationId} is empty`);
      return;
    }
    group.protocol = this.selectProtocol(group);
    group.state = 'CompletingRebalance';
    this.awaitSyncs(group);
    this.cluster.logger.debug(
      `group ${group.groupId}: generation ${group.generationId} with ${group.members.size} member(s), protocol ${group.protocol}, leader ${group.leaderId}`,
    );
    for (const m of group.members.values()) {
      const answer = m.awaitingJoin!;
      m.awaitingJoin = null;
      this.touch(group, m);
      answer(this.generationFor(group, m));
    }
  }

  /** The protocol every member supports that most members list first (ties: the leader's preference). */
  private selectProtocol(group: Group): string {
    const members = [...group.members.values()];
    const leader = group.members.get(group.leaderId!) ?? members[0];
    const candidates = leader.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      if (choice) votes.set(choice.name, votes.get(choice.name)! + 1);
    }
    let best = candidates[0];
    for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
    return best;
  }

  /**
   * Starts the wait for every member's SyncGroup. As Kafka does since KAFKA-12890, members that have not
   * sent one within the rebalance timeout are removed and the group rebalances, so a leader that heartbeats
   * but never syncs cannot hold the group in CompletingRebalance (nor a silent follower in Stable) forever.
   */
  private awaitSyncs(group: Group): void {
    this.clearPendingSync(group);
    for (const id of group.members.keys()) group.pendingSync.add(id);
    const generation = group.generationId;
    group.syncTimer = this.schedule(this.rebalanceTimeout(group), () => {
      group.syncTimer = null;
      if (group.generationId !== generation || (group.state !== 'CompletingRebalance' && group.state !== 'Stable')) return;
      const unsynced = [...group.pendingSync].map((id) => group.members.get(id)).filter((m): m is Member => m !== undefined);
      group.pendingSync.clear();
      if (unsynced.length === 0) return;
      for (const m of unsynced) {
        this.cluster.logger.info(`group ${clientText(group.groupId)}: member ${clientText(m.memberId)} sent no SyncGroup within the rebalance timeout and is removed`);
        this.cancel(m.sessionTimer);
        group.members.delete(m.memberId);
        const join = m.awaitingJoin;
        m.awaitingJoin = null;
        join?.(failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
      }
      if (group.leaderId !== null && !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value ?? null;
      this.prepareRebalance(group, `${unsynced.length} member(s) did not sync`);
    });
  }

  /** A member's SyncGroup arrived: it no longer counts as pending. */
  private synced(group: Group, memberId: string): void {
    group.pendingSync.delete(memberId);
    if (group.pendingSync.size === 0) group.syncTimer = this.cancel(group.syncTimer);
  }

  private clearPendingSync(group: Group): void {
    group.pendingSync.clear();
    group.syncTimer = this.cancel(group.syncTimer);
  }

  /** Takes a member out of the group (leave or session expiry) and rebalances the rest. */
  private removeMember(group: Group, member: Member): void {
    this.cancel(member.sessionTimer);
    group.members.delete(member.memberId);
    group.pendingSync.delete(member.memberId);
    const join = member.awaitingJoin;
    const sync = member.awaitingSync;
    member.awaitingJoin = null;
    member.awaitingSync = null;
    join?.(failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    sync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group, `member ${member.memberId} left`);
    else this.tryCompleteJoin(group);
  }

  // ---- SyncGroup, Heartbeat, LeaveGroup ----------------------------------------------------------

  /** SyncGroup: the leader's call stores the assignments and answers every waiting member; followers wait for it. */
  sync(groupId: string, generationId: number, memberId: string, assignments: readonly { memberId: string; assignment: Buffer }[]): SyncGroupResult | Promise<SyncGroupResult> {
    const fail = (errorCode: number): SyncGroupResult => ({ errorCode, assignment: EMPTY });
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (generationId !== group.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    switch (group.state) {
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.touch(group, member);
        this.synced(group, memberId);
        return { errorCode: ErrorCode.NONE, assignment: member.assignment };
      case 'CompletingRebalance': {
        this.touch(group, member);
        this.synced(group, memberId);
        const result = new Promise<SyncGroupResult>((resolve) => {
          const previous = member.awaitingSync;
          member.awaitingSync = resolve;
          previous?.(fail(ErrorCode.REBALANCE_IN_PROGRESS));
        });
        if (memberId === group.leaderId) {
          const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          group.state = 'Stable';
          for (const m of group.members.values()) {
            const bytes = byMember.get(m.memberId);
            m.assignment = bytes ? Buffer.from(bytes) : EMPTY;
          }
          this.storeGroup(group);
          for (const m of group.members.values()) {
            const answer = m.awaitingSync;
            m.awaitingSync = null;
            answer?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
          }
          this.cluster.logger.debug(`group ${groupId}: generation ${group.generationId} is stable`);
        }
        return result;
      }
      default:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  /** Heartbeat: restarts the member's session timer; REBALANCE_IN_PROGRESS tells it to rejoin. */
  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Removes members (by member id, or by group instance id when the member id is empty). */
  leave(groupId: string, leaving: readonly { memberId: string; groupInstanceId: string | null }[]): { memberId: string; groupInstanceId: string | null; errorCode: number }[] {
    const group = this.groups.get(groupId);
    return leaving.map(({ memberId, groupInstanceId }) => {
      const answer = (errorCode: number) => ({ memberId, groupInstanceId, errorCode });
      if (!group) return answer(ErrorCode.UNKNOWN_MEMBER_ID);
      const pending = group.pending.get(memberId);
      if (pending) {
        this.cancel(pending);
        group.pending.delete(memberId);
        this.tryCompleteJoin(group);
        return answer(ErrorCode.NONE);
      }
      const member =
        memberId !== ''
          ? group.members.get(memberId)
          : [...group.members.values()].find((m) => groupInstanceId !== null && m.groupInstanceId === groupInstanceId);
      if (!member) return answer(ErrorCode.UNKNOWN_MEMBER_ID);
      if (groupInstanceId !== null && member.groupInstanceId !== groupInstanceId) return answer(ErrorCode.FENCED_INSTANCE_ID);
      this.cluster.logger.debug(`group ${groupId}: member ${member.memberId} left`);
      this.removeMember(group, member);
      return answer(ErrorCode.NONE);
    });
  }

  // ---- offsets -----------------------------------------------------------------------------------

  /**
   * Stores offsets. Generation -1 is a "simple" commit (no group membership), accepted for an empty or
   * unknown group; otherwise the member and generation must be current.
   */
  commitOffsets(groupId: string, generationId: number, memberId: string, topics: readonly OffsetCommitTopic[]): { name: string; partitions: { index: number; errorCode: number }[] }[] {
    const groupError = this.validateCommit(groupId, generationId, memberId);
    const commitTimestamp = Date.now();
    const accepted: ({ topic: string; partition: number } & StoredOffset)[] = [];
    const result = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (groupError !== ErrorCode.NONE) return { index: p.index, errorCode: groupError };
        if (!this.cluster.topics.get(t.name)?.partition(p.index)) return { index: p.index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const metadata = p.metadata ?? '';
        if (Buffer.byteLength(metadata) > MAX_OFFSET_METADATA_BYTES) return { index: p.index, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        accepted.push({ topic: t.name, partition: p.index, offset: p.offset, metadata, leaderEpoch: p.leaderEpoch, commitTimestamp });
        return { index: p.index, errorCode: ErrorCode.NONE };
      }),
    }));
    if (accepted.length > 0) this.offsets.commitAll(groupId, accepted);
    return result;
  }

  private validateCommit(groupId: string, generationId: number, memberId: string): number {
    if (!groupId) return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (!group) {
      if (generationId >= 0) return ErrorCode.ILLEGAL_GENERATION;
      this.groups.set(groupId, new Group(groupId));
      return ErrorCode.NONE;
    }
    if (generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // As in Kafka: a member may still commit while the rebalance gathers members (it learns of the
    // rebalance from its heartbeat), but not between JoinGroup and SyncGroup.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.touch(group, member);
    return ErrorCode.NONE;
  }

  /** Committed offsets of the named partitions, or of every committed partition when `topics` is null. */
  fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): OffsetFetchTopic[] {
    const wanted = topics ?? this.committedPartitions(groupId);
    return wanted.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((index) => {
        const o = this.offsets.get(groupId, t.name, index);
        return { index, offset: o?.offset ?? -1, leaderEpoch: o?.leaderEpoch ?? -1, metadata: o?.metadata ?? '', errorCode: ErrorCode.NONE };
      }),
    }));
  }

  private committedPartitions(groupId: string): { name: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const o of this.offsets.list(groupId)) {
      const partitions = byTopic.get(o.topic);
      if (partitions) partitions.push(o.partition);
      else byTopic.set(o.topic, [o.partition]);
    }
    return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
  }

  // ---- inspection --------------------------------------------------------------------------------

  /** Every group with its protocol type and state, sorted by id. */
  list(): GroupListing[] {
    return [...this.groups.values()]
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state }))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** The group as it is now, members with their current assignment; undefined for an unknown group. */
  describe(groupId: string): GroupDetail | undefined {
    const g = this.groups.get(groupId);
    if (!g) return undefined;
    return {
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocol: g.protocol ?? '',
      generationId: g.generationId,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
        assignment: m.assignment,
      })),
    };
  }

  /** Every offset the group has committed, ordered by topic then partition. */
  committedOffsets(groupId: string): CommittedOffset[] {
    return this.offsets.list(groupId).map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }));
  }

  /** Lag of every partition of the topics the group has committed to or its consumers subscribe to. */
  lag(groupId: string): PartitionLag[] {
    const names = new Set(this.offsets.topics(groupId));
    const g = this.groups.get(groupId);
    if (g?.protocolType === 'consumer') {
      for (const m of g.members.values()) for (const p of m.protocols) for (const t of subscribedTopics(p.metadata)) names.add(t);
    }
    return [...names].sort().flatMap((name) => {
      const topic = this.cluster.topics.get(name);
      if (!topic) return [];
      return topic.partitions.map((p) => {
        const committed = this.offsets.get(groupId, name, p.index)?.offset ?? -1;
        const { endOffset, logStartOffset } = p.log;
        return { topic: name, partition: p.index, committedOffset: committed, endOffset, lag: committed < 0 ? endOffset - logStartOffset : Math.max(0, endOffset - committed) };
      });
    });
  }

  /**
   * DeleteGroups: removes a group without members, with its committed offsets. NON_EMPTY_GROUP while it has
   * members (or is rebalancing), GROUP_ID_NOT_FOUND when there is neither a group nor offsets of that id.
   */
  deleteGroup(groupId: string): number {
    if (!groupId) return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (g && (g.members.size > 0 || g.state !== 'Empty')) return ErrorCode.NON_EMPTY_GROUP;
    if (!g && !this.offsets.has(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g) {
      this.cancel(g.rebalanceTimer);
      this.cancel(g.syncTimer);
      for (const t of g.pending.values()) this.cancel(t);
      this.groups.delete(groupId);
    }
    this.offsets.deleteGroup(groupId);
    this.cluster.logger.info(`group ${groupId} deleted`);
    // As Kafka: tombstones for the offsets (above) and for the group's metadata.
    this.cluster.consumerOffsets.groupDeleted(groupId);
    return ErrorCode.NONE;
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** Drops committed offsets of a deleted topic. */
  onTopicDeleted(topic: string): void {
    this.offsets.deleteTopic(topic);
  }

  /** Stops every timer (sessions, rebalances) and answers requests still waiting, when the broker stops. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const g of this.groups.values()) {
      g.rebalanceTimer = null;
      for (const m of g.members.values()) {
        m.sessionTimer = null;
        const join = m.awaitingJoin;
        const sync = m.awaitingSync;
        m.awaitingJoin = null;
        m.awaitingSync = null;
        join?.(failedJoin(ErrorCode.NOT_COORDINATOR, m.memberId));
        sync?.({ errorCode: ErrorCode.NOT_COORDINATOR, assignment: EMPTY });
      }
    }
  }
}
