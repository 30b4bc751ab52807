/**
 * Wait-for helpers in the spirit of Spring's `KafkaTestUtils` and `ContainerTestUtils`. Each polls a
 * condition (every 10 ms) until it holds or the timeout passes, then fails with a message saying what was
 * awaited and what was seen.
 */
import type { BrokerRecord, EmbeddedKafkaBroker } from '@kafka-nest/broker';
import type { KafkaListenerEndpointRegistry, MessageListenerContainer } from '@kafka-nest/core';

export interface WaitOptions {
  /** @default 10000 */
  timeoutMs?: number;
  /** @default 10 */
  intervalMs?: number;
  /** Said in the timeout error. */
  message?: string;
}

/** Resolves with the condition's first truthy result; rejects after `timeoutMs` (the last error, if any, as cause). */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await condition();
      if (result) return result as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}${detail}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `topic` holds at least `count` records (all partitions) and returns them, by partition then offset. */
export function getRecords(broker: EmbeddedKafkaBroker, topic: string, count: number, timeoutMs = 10_000): Promise<BrokerRecord[]> {
  return waitFor(
    () => {
      const records = broker.allRecords(topic);
      return records.length >= count ? records : undefined;
    },
    { timeoutMs, message: `${count} record(s) on '${topic}' (has ${broker.allRecords(topic).length})` },
  );
}

/** Waits for a record on `topic` and returns it; fails if the topic holds more than one. */
export async function getSingleRecord(broker: EmbeddedKafkaBroker, topic: string, timeoutMs = 10_000): Promise<BrokerRecord> {
  const records = await getRecords(broker, topic, 1, timeoutMs);
  if (records.length > 1) throw new Error(`expected one record on '${topic}', found ${records.length}`);
  return records[0];
}

/** Waits until `groupId` has committed at least `offset` (the next offset to read) on `topic`-`partition`. */
export function waitForCommit(
  broker: EmbeddedKafkaBroker,
  groupId: string,
  topic: string,
  partition: number,
  offset: number,
  timeoutMs = 10_000,
): Promise<number> {
  const committed = () => broker.committedOffsets(groupId).find((o) => o.topic === topic && o.partition === partition)?.offset ?? -1;
  return waitFor(() => (committed() >= offset ? committed() : undefined), {
    timeoutMs,
    message: `group '${groupId}' to commit offset ${offset} on ${topic}-${partition} (committed: ${committed()})`,
  });
}

/**
 * Offsets `groupId` has committed on `topic`, by partition: the next offset to read (a partition without a
 * commit is absent). The shape `processedPastCommit` and `committedButUnprocessed` take.
 */
export function committedByPartition(broker: EmbeddedKafkaBroker, groupId: string, topic: string): Map<number, number> {
  return new Map(broker.committedOffsets(groupId).filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
}

/**
 * Whether `groupId` has committed the log end of every non-empty partition of `topic`: everything written
 * so far was consumed and committed. Use it with `waitFor`.
 */
export function fullyCommitted(broker: EmbeddedKafkaBroker, groupId: string, topic: string): boolean {
  const committed = committedByPartition(broker, groupId, topic);
  return broker.offsets(topic).every((p) => p.endOffset === 0 || committed.get(p.partition) === p.endOffset);
}

/**
 * Waits until the container's consumers hold `partitions` partitions in all (Spring's
 * `ContainerTestUtils.waitForAssignment`); pass the registry and an id, or a container.
 */
export function waitForAssignment(
  target: MessageListenerContainer | KafkaListenerEndpointRegistry,
  idOrPartitions: string | number,
  partitions?: number,
  timeoutMs = 15_000,
): Promise<true> {
  const container = typeof idOrPartitions === 'string'
    ? (target as KafkaListenerEndpointRegistry).getListenerContainer(idOrPartitions)
    : (target as MessageListenerContainer);
  const want = typeof idOrPartitions === 'number' ? idOrPartitions : (partitions ?? 1);
  const count = () => container.assignedPartitions().reduce((n, tp) => n + tp.partitions.length, 0);
  return waitFor(() => count() === want || undefined, {
    timeoutMs,
    message: `listener '${container.id}' to be assigned ${want} partition(s) (has ${count()})`,
  }) as Promise<true>;
}
