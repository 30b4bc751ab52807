import { DLT_HANDLER_METADATA } from '../kafka.constants.js';

/**
 * Receives the records that reach the dead-letter topic of the class's `@RetryableTopic` listeners (Spring
 * Kafka's `@DltHandler`). Parameters take the same decorators as a listener's (`@Payload()`, `@Key()`,
 * `@Header()`, `@Ctx()`...); pipes, guards, interceptors and filters apply. At most one per class; without
 * one, dead-lettered records are logged.
 *
 * When it throws, `dltStrategy` decides: `ALWAYS_RETRY_ON_ERROR` (default) publishes the record to the DLT
 * again, unless the error is not retryable; `FAIL_ON_ERROR` logs and drops it.
 */
export function DltHandler(): MethodDecorator {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(DLT_HANDLER_METADATA, true, descriptor.value as object);
    return descriptor;
  };
}
