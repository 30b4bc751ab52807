/**
 * The root of every error kafka-nest raises. Subclasses set `name`, keep `cause`, and carry their context
 * as readonly fields; messages name the thing at fault and the fix.
 */
export class KafkaNestError extends Error {
  override name = 'KafkaNestError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A record's key or value could not be deserialized. It never reaches the listener: the error handler
 * sends it straight to the recoverer (not retryable by default), with the raw bytes kept here.
 */
export class DeserializationError extends KafkaNestError {
  override name = 'DeserializationError';

  constructor(
    message: string,
    /** The bytes that could not be read. */
    readonly data: Buffer | null,
    /** Whether the key (true) or the value (false) failed. */
    readonly isKey: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
