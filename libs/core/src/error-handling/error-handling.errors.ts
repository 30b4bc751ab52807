/**
 * Errors raised by, or understood by, the error-handling classes.
 */
import { KafkaNestError } from '../kafka.errors.js';

/**
 * A back-off, error handler or recoverer was configured with a value it cannot work with: a negative or
 * non-finite interval, a multiplier below 1, a fractional attempt count, an invalid dead-letter topic name.
 * Raised at construction (or, for a destination resolver's answer, when it is used), never later.
 */
export class ErrorHandlingConfigurationError extends KafkaNestError {
  override name = 'ErrorHandlingConfigurationError';

  constructor(
    message: string,
    /** The option at fault, as the user wrote it (`FixedBackOff.intervalMs`, `suffix`, ...). */
    readonly parameter: string,
    /** The value that was rejected. */
    readonly value: unknown,
  ) {
    super(message);
  }
}

/**
 * Thrown by a batch listener to say which record of the batch failed (Spring Kafka's
 * `BatchListenerFailedException`): the records before `index` are committed, the failed one is retried
 * with the back-off and recovered when retries are exhausted, and the records after it are delivered again.
 */
export class BatchListenerFailedError extends KafkaNestError {
  override name = 'BatchListenerFailedError';

  constructor(
    message: string,
    /** The index, in the batch the listener received, of the record that failed. */
    readonly index: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    if (!Number.isInteger(index) || index < 0) {
      throw new ErrorHandlingConfigurationError(
        `BatchListenerFailedError index must be a non-negative integer (the position of the failed record in the batch), got ${String(index)}`,
        'index',
        index,
      );
    }
  }
}
