// How retry topics (and so their listeners' ids and groups) are named, as Spring Kafka names them.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  DltStrategy,
  KafkaListener,
  KafkaListenerEndpointRegistry,
  RetryableTopic,
  type RetryableTopicOptions,
  SameIntervalTopicReuseStrategy,
  TopicSuffixingStrategy,
} from '@kafka-nest/core';
import { createKafkaTestBroker } from '@kafka-nest/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp } from '../../fixtures/kafka-app.js';

const exponential = { delay: 1000, multiplier: 2, maxDelay: 10_000 };

/**
 * The ids of the containers made for a listener on `topic` with these options (its id is the topic); no
 * topic is a prefix of another, so a listener's containers are those whose id starts with its topic.
 */
const CASES: [string, RetryableTopicOptions, string[]][] = [
  ['by-delay', { attempts: 4, backoff: exponential }, ['by-delay', 'by-delay-retry-1000', 'by-delay-retry-2000', 'by-delay-retry-4000', 'by-delay-dlt']],
  ['fixed', {}, ['fixed', 'fixed-retry', 'fixed-dlt']],
  ['single', { attempts: 2, backoff: exponential }, ['single', 'single-retry', 'single-dlt']],
  [
    'max-reused',
    { attempts: 6, backoff: { delay: 1000, multiplier: 2, maxDelay: 2000 } },
    ['max-reused', 'max-reused-retry-1000', 'max-reused-retry-2000', 'max-reused-dlt'],
  ],
  [
    'max-multiple',
    { attempts: 5, backoff: { delay: 1000, multiplier: 2, maxDelay: 2000 }, sameIntervalTopicReuseStrategy: SameIntervalTopicReuseStrategy.MULTIPLE_TOPICS },
    ['max-multiple', 'max-multiple-retry-1000', 'max-multiple-retry-2000-0', 'max-multiple-retry-2000-1', 'max-multiple-retry-2000-2', 'max-multiple-dlt'],
  ],
  [
    'multi-fixed',
    { attempts: 3, sameIntervalTopicReuseStrategy: SameIntervalTopicReuseStrategy.MULTIPLE_TOPICS },
    ['multi-fixed', 'multi-fixed-retry-0', 'multi-fixed-retry-1', 'multi-fixed-dlt'],
  ],
  [
    'by-index',
    { attempts: 3, backoff: exponential, topicSuffixingStrategy: TopicSuffixingStrategy.SUFFIX_WITH_INDEX_VALUE },
    ['by-index', 'by-index-retry-0', 'by-index-retry-1', 'by-index-dlt'],
  ],
  ['suffixes', { attempts: 2, retryTopicSuffix: '.retry', dltTopicSuffix: '.DLT' }, ['suffixes', 'suffixes.retry', 'suffixes.DLT']],
  ['no-retry', { attempts: 1 }, ['no-retry', 'no-retry-dlt']],
  ['no-dlt', { attempts: 2, dltStrategy: DltStrategy.NO_DLT }, ['no-dlt', 'no-dlt-retry']],
];

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker();
});
afterAll(() => broker.stop());

it('names retry topics by delay, by index, with one topic for a fixed delay and for the retries at maxDelay, as Spring does', async () => {
  const providers = CASES.map(([topic, options]) => {
    @Injectable()
    class Listener {
      @RetryableTopic(options)
      @KafkaListener({ id: topic, topics: [topic], autoStartup: false })
      handle() {}
    }
    return Listener;
  });
  const app = await startApp(broker, { providers });
  try {
    const registry = app.get(KafkaListenerEndpointRegistry);
    for (const [topic, , ids] of CASES) {
      const made = registry.getListenerContainers().filter((c) => c.id === topic || c.id.startsWith(`${topic}-`) || c.id.startsWith(`${topic}.`));
      expect(made.map((c) => c.id), topic).toEqual(ids);
      // A retry or DLT listener's group is the main group with the topic's suffix.
      expect(made.map((c) => c.groupId), topic).toEqual(ids);
    }
  } finally {
    await app.close();
  }
});
