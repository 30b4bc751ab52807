export * from './back-off.js';
export * from './common-error-handler.js';
export { CommonContainerStoppingErrorHandler } from './common-container-stopping-error-handler.js';
export { CommonLoggingErrorHandler } from './common-logging-error-handler.js';
export type { ConsumerRecordRecoverer, ConsumerRecordRecovererLike } from './consumer-record-recoverer.js';
export { DltHeaders } from './dead-letter-headers.js';
export {
  DeadLetterPublishingError,
  DeadLetterPublishingRecoverer,
  type DeadLetterDestination,
  type DeadLetterDestinationResolver,
  type DeadLetterPublishingRecovererOptions,
  type DeadLetterTemplate,
} from './dead-letter-publishing-recoverer.js';
export { DefaultErrorHandler, type BackOffFunction } from './default-error-handler.js';
export * from './error-handling.errors.js';
export { ExceptionClassifier, DEFAULT_NOT_RETRYABLE, type ErrorClass } from './exception-classifier.js';
export type { RetryListener } from './retry-listener.js';
