import { KafkaNestError } from '../kafka.errors.js';

/**
 * No reply came for a request within its timeout. Mirrors Spring Kafka's `KafkaReplyTimeoutException`.
 * The request was sent; the reply may still come later, and is then dropped.
 */
export class KafkaReplyTimeoutError extends KafkaNestError {
  override name = 'KafkaReplyTimeoutError';

  constructor(
    message: string,
    /** Topic of the request. */
    readonly topic: string,
    /** The correlation id of the request, hex. */
    readonly correlationId: string,
    /** The timeout that passed, in ms. */
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** A reply could not be sent, or a request could not be: the message says where and why. */
export class KafkaReplyError extends KafkaNestError {
  override name = 'KafkaReplyError';

  constructor(
    message: string,
    /** The listener (`Class.method`) or template involved. */
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
