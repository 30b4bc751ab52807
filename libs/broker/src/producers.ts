/**
 * Idempotent-producer state: producer ids and epochs handed out by InitProducerId, and per partition the
 * last sequence numbers written by each producer, so a retried batch is recognised and acknowledged with
 * its original offset instead of being written twice (KIP-98).
 *
 * As Kafka does, the last five batches of each producer and partition are remembered; a batch whose
 * sequence range matches one of them is a duplicate, and one whose first sequence is not the last + 1 is
 * out of order (OUT_OF_ORDER_SEQUENCE_NUMBER). An epoch older than the producer's current one is fenced
 * (INVALID_PRODUCER_EPOCH). A producer with no state in a partition may start at any sequence, as Kafka
 * accepts (its state may have been removed); a new epoch must start at 0. Deleting a topic forgets its
 * state, so a topic recreated under the same name inherits no sequence numbers.
 */
import type { BatchHeader } from './protocol/record-batch.js';
import { ErrorCode } from './protocol/error-codes.js';

const REMEMBERED_BATCHES = 5;
const MAX_SEQUENCE = 2 ** 31 - 1;

interface WrittenBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}

interface PartitionProducerState {
  epoch: number;
  batches: WrittenBatch[];
}

export type SequenceCheck = { kind: 'append' } | { kind: 'duplicate'; baseOffset: number } | { kind: 'error'; errorCode: number };

export class ProducerStateManager {
  private nextProducerId = 1000;
  private readonly epochs = new Map<number, number>();
  private readonly byTransactionalId = new Map<string, number>();
  private readonly state = new Map<string, PartitionProducerState>();

  /** A new producer id (epoch 0), or for a known transactional id the same id with its epoch bumped. */
  initProducerId(transactionalId: string | null): { producerId: number; producerEpoch: number } {
    if (transactionalId) {
      const known = this.byTransactionalId.get(transactionalId);
      if (known !== undefined) {
        const epoch = (this.epochs.get(known) ?? -1) + 1;
        this.epochs.set(known, epoch);
        return { producerId: known, producerEpoch: epoch };
      }
    }
    const producerId = this.nextProducerId++;
    this.epochs.set(producerId, 0);
    if (transactionalId) this.byTransactionalId.set(transactionalId, producerId);
    return { producerId, producerEpoch: 0 };
  }

  /** Decides whether an idempotent batch is new, a duplicate of one already written, or invalid. */
  check(topic: string, partition: number, h: BatchHeader): SequenceCheck {
    if (h.producerId < 0) return { kind: 'append' };
    const current = this.epochs.get(h.producerId);
    if (current !== undefined && h.producerEpoch < current) return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    const s = this.state.get(key(h.producerId, topic, partition));
    const lastSeq = seqAdd(h.baseSequence, h.lastOffsetDelta);
    // No state for this producer here (a new partition, or a topic deleted and recreated): as Kafka, accept
    // any sequence, since the producer may be in the middle of its numbering.
    if (!s) return { kind: 'append' };
    if (h.producerEpoch > s.epoch) {
      return h.baseSequence === 0 ? { kind: 'append' } : { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    }
    const dup = s.batches.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeq);
    if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset };
    const expected = seqAdd(s.batches[s.batches.length - 1].lastSeq, 1);
    if (h.baseSequence !== expected) return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    return { kind: 'append' };
  }

  /** Records an appended idempotent batch. */
  written(topic: string, partition: number, h: BatchHeader, baseOffset: number): void {
    if (h.producerId < 0) return;
    const k = key(h.producerId, topic, partition);
    let s = this.state.get(k);
    if (!s || h.producerEpoch > s.epoch) {
      s = { epoch: h.producerEpoch, batches: [] };
      this.state.set(k, s);
    }
    s.batches.push({ firstSeq: h.baseSequence, lastSeq: seqAdd(h.baseSequence, h.lastOffsetDelta), baseOffset });
    if (s.batches.length > REMEMBERED_BATCHES) s.batches.shift();
    if ((this.epochs.get(h.producerId) ?? -1) < h.producerEpoch) this.epochs.set(h.producerId, h.producerEpoch);
  }

  /** Forgets the state of a deleted topic. */
  forgetTopic(topic: string): void {
    for (const k of this.state.keys()) if (k.split('\u0000')[1] === topic) this.state.delete(k);
  }
}

function key(producerId: number, topic: string, partition: number): string {
  return `${producerId}\u0000${topic}\u0000${partition}`;
}

/** Sequence numbers wrap from Int32.MAX to 0. */
function seqAdd(seq: number, n: number): number {
  const v = seq + n;
  return v > MAX_SEQUENCE ? v - MAX_SEQUENCE - 1 : v;
}
