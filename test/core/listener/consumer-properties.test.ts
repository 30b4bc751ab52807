// Kafka-named consumer settings mapped onto the transport's consumer config.
import { describe, expect, it } from 'vitest';
import { resolveConsumerProperties } from '../../../libs/core/src/listener/consumer-properties.js';

const problem = (m: string) => new Error(m);

describe('resolveConsumerProperties', () => {
  it("gives Kafka's defaults when nothing is set", () => {
    expect(resolveConsumerProperties({}, problem)).toEqual({
      consumer: { sessionTimeoutMs: 45_000, heartbeatIntervalMs: 3_000, rebalanceTimeoutMs: 300_000, fetchMaxBytes: 52_428_800, fetchMaxWaitMs: 500, readUncommitted: true },
      maxPollRecords: 500,
      maxPollIntervalMs: 300_000,
      autoOffsetReset: undefined,
    });
  });

  it('maps every supported property, numbers given as numbers or strings', () => {
    const r = resolveConsumerProperties(
      {
        'fetch.min.bytes': '10',
        'fetch.max.bytes': 2048,
        'fetch.max.wait.ms': 100,
        'max.partition.fetch.bytes': 1024,
        'max.poll.records': '50',
        'heartbeat.interval.ms': 1000,
        'session.timeout.ms': 6000,
        'request.timeout.ms': 5000,
        'max.poll.interval.ms': 60_000,
        'auto.offset.reset': 'earliest',
        'client.id': 'orders-consumer',
        'isolation.level': 'read_committed',
      },
      problem,
    );
    expect(r).toEqual({
      consumer: {
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 1000,
        rebalanceTimeoutMs: 60_000,
        clientId: 'orders-consumer',
        requestTimeoutMs: 5000,
        fetchMinBytes: 10,
        fetchMaxBytes: 2048,
        fetchMaxWaitMs: 100,
        maxPartitionFetchBytes: 1024,
        readUncommitted: false,
      },
      maxPollRecords: 50,
      maxPollIntervalMs: 60_000,
      autoOffsetReset: 'earliest',
    });
  });

  it('derives the heartbeat from a small session timeout', () => {
    expect(resolveConsumerProperties({ 'session.timeout.ms': 6000 }, problem).consumer.heartbeatIntervalMs).toBe(2000);
  });

  it('refuses fractions, negatives and unknown names', () => {
    expect(() => resolveConsumerProperties({ 'fetch.min.bytes': 1.5 }, problem)).toThrow(`property 'fetch.min.bytes' must be an integer from 0 to 2147483647, got 1.5`);
    expect(() => resolveConsumerProperties({ 'fetch.max.wait.ms': -1 }, problem)).toThrow(`got -1`);
    expect(() => resolveConsumerProperties({ 'session_timeout_ms': 1 }, problem)).toThrow(`did you mean 'session.timeout.ms'?`);
    expect(() => resolveConsumerProperties({ 'client.id': '' }, problem)).toThrow(`property 'client.id' must be a non-empty string`);
    expect(() => resolveConsumerProperties({ 'isolation.level': 'committed' }, problem)).toThrow(
      `property 'isolation.level' must be 'read_committed' or 'read_uncommitted', got "committed"`,
    );
    expect(() => resolveConsumerProperties({ 'enable.auto.commit': true }, problem)).toThrow(`commits are made by the container`);
  });
});
