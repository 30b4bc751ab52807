/**
 * Transactional listener deliveries (Spring: a container with a `KafkaTransactionManager`, EOS mode V1).
 * With `transactionIdPrefix` set, each record delivery runs in a Kafka transaction on the producer of its
 * group, topic and partition (`<prefix><group>.<topic>.<partition>`): what the listener sends through
 * `KafkaTemplate` joins it, and the record's offset (+1) is sent into it, so the output and the consumption
 * commit or abort together. A new owner of the partition (after a rebalance or a crash) initialises the same
 * transactional id, which fences the previous owner and aborts what it left open.
 *
 * When the listener fails, the transaction is aborted, then the listener's error handler decides, as Spring's
 * `DefaultAfterRollbackProcessor` does (back-off, then the recoverer), in a new transaction on the same
 * producer: a dead-letter (or retry-topic) publish joins it, and when the record is recovered its offset
 * goes into it too, so the dead-letter record and the commit of the original are atomic.
 *
 * Batch listeners: each call (the records handed over at once) runs in one transaction that commits the
 * offset after its last record. A failure rolls back the output of the whole call, so the error handler is
 * asked about the whole batch: a `BatchListenerFailedError` index is not honoured (the records before it
 * were rolled back too) and its cause is handed on instead, as Spring's `DefaultAfterRollbackProcessor`
 * retries a batch whole and then recovers each of its records. The offset after the records the handler
 * recovered is committed in its transaction.
 */
import type { BatchErrorHandlingResult, ErrorHandlingResult } from '../../error-handling/common-error-handler.js';
import { BatchListenerFailedError } from '../../error-handling/error-handling.errors.js';
import { sendOffsetsToTransaction, type TransactionalProducers } from '../../producer/kafka-transactions.js';
import type { ConsumedRecord } from '../consumed-record.js';

export class TransactionalDelivery {
  constructor(
    private readonly producers: TransactionalProducers,
    private readonly groupId: string,
  ) {}

  /** Runs the listener on `record` in a transaction that also commits its offset. Throws what the listener or the commit threw. */
  invoke(record: ConsumedRecord, listener: () => Promise<void>): Promise<void> {
    return this.producers.executeOn(this.suffix(record), async () => {
      await listener();
      await sendOffsetsToTransaction(this.groupId, [{ topic: record.topic, partition: record.partition, offset: record.offset + 1 }]);
    });
  }

  /** Runs the error handler after the rollback, in a new transaction; a recovered record's offset is committed with it. */
  afterRollback(record: ConsumedRecord, handle: () => Promise<ErrorHandlingResult>): Promise<ErrorHandlingResult> {
    return this.producers.executeOn(this.suffix(record), async () => {
      const result = await handle();
      if (result.action === 'skip') {
        await sendOffsetsToTransaction(this.groupId, [{ topic: record.topic, partition: record.partition, offset: record.offset + 1 }]);
      }
      return result;
    });
  }

  /** Runs a batch listener call in a transaction that also commits the offset after `last`. */
  invokeBatch(last: ConsumedRecord, listener: () => Promise<void>): Promise<void> {
    return this.invoke(last, listener);
  }

  /**
   * Runs the error handler on a failed batch after the rollback, in a new transaction, with the whole batch
   * failed (see above); the offset after the records it reports done (recovered) is committed with it.
   */
  afterRollbackBatch(
    records: readonly ConsumedRecord[],
    error: Error,
    handle: (error: Error) => Promise<BatchErrorHandlingResult>,
  ): Promise<BatchErrorHandlingResult> {
    return this.producers.executeOn(this.suffix(records[0]), async () => {
      const result = await handle(wholeBatchError(error));
      const committed = Math.max(0, Math.min(records.length, Math.trunc(result.committed)));
      if (committed > 0) {
        const last = records[committed - 1];
        await sendOffsetsToTransaction(this.groupId, [{ topic: last.topic, partition: last.partition, offset: last.offset + 1 }]);
      }
      return result;
    });
  }

  private suffix(record: ConsumedRecord): string {
    return `${this.groupId}.${record.topic}.${record.partition}`;
  }
}

/** The error without its `BatchListenerFailedError` (outermost in the cause chain): its cause, or a plain error with its message. */
function wholeBatchError(error: Error): Error {
  if (!(error instanceof BatchListenerFailedError)) return error;
  return error.cause instanceof Error ? error.cause : new Error(error.message);
}
