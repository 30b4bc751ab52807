/**
 * A kafkajs partition assigner with the semantics of Kafka's `RangeAssignor` (protocol name `range`):
 * each topic's partitions are shared out, in contiguous ranges, among the members *subscribed to that
 * topic* only, in member-id order; the first `partitions % members` members get one extra partition.
 *
 * kafkajs's default `RoundRobinAssigner` deals every partition of the leader's own topics round the whole
 * group, whatever each member subscribed to: two listeners sharing a `groupId` on topics `a` and `b` then
 * lose one topic's records silently. This assigner reads every member's subscription (Kafka's
 * `ConsumerProtocolSubscription`, the bytes `AssignerProtocol.MemberMetadata` encodes) and fetches the
 * partition counts of topics only other members subscribe to. Because the protocol is named `range` and the
 * bytes are Kafka's, a Java, librdkafka (`partition.assignment.strategy=range`) or kafka-python member can
 * share the group, and lead it. Internal.
 */
import { AssignerProtocol, type Assigner, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

/** The protocol name Kafka's `RangeAssignor` registers. */
export const RANGE_PROTOCOL = 'range';

/**
 * Range assignment of `partitionsPerTopic` to the members subscribed to each topic. Pure: `subscriptions`
 * maps member id to its topics. Returns member id to topic to sorted partitions (every member present,
 * possibly with nothing).
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionsPerTopic: ReadonlyMap<string, number>,
): Map<string, Record<string, number[]>> {
  const out = new Map<string, Record<string, number[]>>();
  for (const member of subscriptions.keys()) out.set(member, {});
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const count = partitionsPerTopic.get(topic) ?? 0;
    const members = [...subscriptions].filter(([, t]) => t.includes(topic)).map(([m]) => m).sort();
    if (count === 0 || members.length === 0) continue;
    const per = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((member, i) => {
      const start = per * i + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      if (length > 0) out.get(member)![topic] = Array.from({ length }, (_, k) => start + k);
    });
  }
  return out;
}

/** kafkajs's `Cluster`, with the `metadata({ topics })` its JavaScript takes (its types omit the argument). */
interface MetadataCluster {
  metadata(options: { topics: string[] }): Promise<{ topicMetadata: { topic: string; partitionMetadata: unknown[] }[] }>;
  findTopicPartitionMetadata(topic: string): unknown[];
}

/** The `range` assigner for kafkajs's `partitionAssigners`. */
export const RangeAssigner: PartitionAssigner = ({ cluster, logger }): Assigner => ({
  name: RANGE_PROTOCOL,
  version: 0,

  async assign({ members }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
    const subscriptions = new Map<string, readonly string[]>();
    for (const { memberId, memberMetadata } of members) {
      const decoded = memberMetadata.length > 0 ? AssignerProtocol.MemberMetadata.decode(memberMetadata) : null;
      subscriptions.set(memberId, decoded?.topics ?? []);
    }
    // The leader's own metadata covers only its topics: ask for the whole group's, in one request.
    const topics = [...new Set([...subscriptions.values()].flat())];
    const counts = new Map<string, number>();
    const metadataCluster = cluster as unknown as MetadataCluster;
    if (topics.length > 0) {
      try {
        const metadata = await metadataCluster.metadata({ topics });
        for (const t of metadata.topicMetadata) counts.set(t.topic, t.partitionMetadata.length);
      } catch (err) {
        // A topic of another member that cannot be described (deleted, not authorized): assign what is known.
        logger.warn(`range assignor: no metadata for the group's topics (${err instanceof Error ? err.message : String(err)}); assigning the topics already known`, { topics });
        for (const topic of topics) {
          try {
            counts.set(topic, metadataCluster.findTopicPartitionMetadata(topic).length);
          } catch {
            // not loaded: no partitions to assign for it
          }
        }
      }
    }
    const assignment = rangeAssign(subscriptions, counts);
    return [...assignment].map(([memberId, partitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: partitions, userData: Buffer.alloc(0) }),
    }));
  },

  protocol({ topics }: { topics: string[] }) {
    return { name: RANGE_PROTOCOL, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
