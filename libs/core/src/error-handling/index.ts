export * from './back-off.js';
export * from './common-error-handler.js';
export * from './consumer-record-recoverer.js';
export { DefaultErrorHandler, type BackOffFunction } from './default-error-handler.js';
export * from './error-handling.errors.js';
export { ExceptionClassifier, DEFAULT_NOT_RETRYABLE, type ErrorClass } from './exception-classifier.js';
export type { RetryListener } from './retry-listener.js';
