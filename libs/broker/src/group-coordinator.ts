/**
 * Consumer groups: the classic rebalance protocol's state machine and committed offsets.
 * (Being written: see the group handlers 08-16.)
 */
import type { Cluster } from './cluster.js';

export class GroupCoordinator {
  constructor(readonly cluster: Cluster) {}

  /** Drops committed offsets of a deleted topic. */
  onTopicDeleted?(topic: string): void;

  /** Stops timers (session timeouts) when the broker stops. */
  close?(): void;
}
