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

/**
 * A listener or module is set up wrongly: raised at start-up, before any consumer connects. The message
 * names the listener (class and method) and says what to change.
 */
export class KafkaConfigurationError extends KafkaNestError {
  override name = 'KafkaConfigurationError';

  constructor(
    message: string,
    /** `Class.method` of the listener at fault, when one is. */
    readonly listener?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A listener threw something that is not an `Error` (a string, a plain object...). The container wraps it
 * so error handlers always see an `Error`; the thrown value is kept as `cause` and `thrown`.
 */
export class ListenerExecutionFailedError extends KafkaNestError {
  override name = 'ListenerExecutionFailedError';

  constructor(
    message: string,
    /** The listener id. */
    readonly listenerId: string,
    /** What the listener threw. */
    readonly thrown: unknown,
  ) {
    super(message, { cause: thrown });
  }
}

/** `KafkaListenerEndpointRegistry` was asked for a container id it does not hold. */
export class ListenerContainerNotFoundError extends KafkaNestError {
  override name = 'ListenerContainerNotFoundError';

  constructor(
    message: string,
    readonly listenerId: string,
  ) {
    super(message);
  }
}

/** A record could not be serialized or sent by `KafkaTemplate`. */
export class KafkaProducerError extends KafkaNestError {
  override name = 'KafkaProducerError';

  constructor(
    message: string,
    readonly topic: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A Kafka transaction could not begin, commit or abort (`KafkaTemplate.executeInTransaction`, transactional
 * listeners), or a transactional operation was called outside one. The work of a failed transaction is not
 * visible to `read_committed` consumers.
 */
export class KafkaTransactionError extends KafkaNestError {
  override name = 'KafkaTransactionError';

  constructor(
    message: string,
    /** `transactional.id` of the producer, '' when none was involved. */
    readonly transactionalId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
