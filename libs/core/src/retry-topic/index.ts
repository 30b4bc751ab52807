export { RetryableTopic } from './retryable-topic.decorator.js';
export { DltHandler } from './dlt-handler.decorator.js';
export {
  DltStrategy,
  SameIntervalTopicReuseStrategy,
  TopicSuffixingStrategy,
  type RetryableTopicOptions,
  type RetryTopicBackOffOptions,
} from './retry-topic-configuration.js';
export { RetryTopicHeaders } from './retry-topic.headers.js';
