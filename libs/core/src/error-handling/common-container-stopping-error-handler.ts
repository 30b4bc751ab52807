/**
 * An error handler that stops the container (Spring Kafka's `CommonContainerStoppingErrorHandler`).
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
import { BatchListenerFailedError } from './error-handling.errors.js';

/**
 * Stops the listener's container on the first failure. The failed record is not committed: it is delivered
 * again when the container is restarted (through `KafkaListenerEndpointRegistry`) or the application
 * restarts. For listeners where skipping a record is never acceptable.
 */
export class CommonContainerStoppingErrorHandler implements CommonErrorHandler {
  private readonly logger = new Logger(CommonContainerStoppingErrorHandler.name);

  async handleRecord(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<ErrorHandlingResult> {
    this.logger.error(`Listener '${ctx.listenerId}' failed on ${describeRecord(record)}; stopping the container: ${error.message}`, error.stack);
    return { action: 'stop' };
  }

  /** A `BatchListenerFailedError` lets the records before the failed one be committed first. */
  async handleBatch(records: readonly ConsumedRecord[], error: Error, ctx: ListenerFailureContext): Promise<BatchErrorHandlingResult> {
    const committed = error instanceof BatchListenerFailedError && error.index < records.length ? error.index : 0;
    const failed = records[committed];
    this.logger.error(
      `Batch listener '${ctx.listenerId}' failed${failed ? ` at ${describeRecord(failed)}` : ''}; stopping the container: ${error.message}`,
      error.stack,
    );
    return { committed, then: { action: 'stop' } };
  }

  deliveryAttempt(): number {
    return 1;
  }

  recordSucceeded(): void {}
}
