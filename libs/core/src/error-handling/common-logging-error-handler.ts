/**
 * An error handler that logs the failure and goes on (Spring Kafka's `CommonLoggingErrorHandler`).
 */
import { Logger } from '@nestjs/common';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type {
  BatchErrorHandlingResult,
  CommonErrorHandler,
  ErrorHandlingResult,
  ListenerFailureContext,
} from './common-error-handler.js';
import { describeRecord } from './default-error-handler.js';

/**
 * Logs the failed record (or batch) at error level and skips it: its offset is committed and nothing is
 * retried. For listeners where losing a record is acceptable and retrying is not.
 */
export class CommonLoggingErrorHandler implements CommonErrorHandler {
  private readonly logger = new Logger(CommonLoggingErrorHandler.name);

  async handleRecord(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<ErrorHandlingResult> {
    this.logger.error(`Listener '${ctx.listenerId}' failed on ${describeRecord(record)}; skipped: ${error.message}`, error.stack);
    return { action: 'skip' };
  }

  async handleBatch(records: readonly ConsumedRecord[], error: Error, ctx: ListenerFailureContext): Promise<BatchErrorHandlingResult> {
    const first = records[0];
    this.logger.error(
      `Batch listener '${ctx.listenerId}' failed on ${records.length} record(s)` +
        `${first ? ` from ${describeRecord(first)}` : ''}; skipped: ${error.message}`,
      error.stack,
    );
    return { committed: records.length, then: { action: 'skip' } };
  }

  deliveryAttempt(): number {
    return 1;
  }

  recordSucceeded(): void {}
}
