import { ErrorHandlingConfigurationError, ExponentialBackOff, FixedBackOff, STOP, type BackOff } from '@kafka-nest/core';
import { describe, expect, it } from 'vitest';

function drain(backOff: BackOff, max = 100): number[] {
  const execution = backOff.start();
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    const next = execution.nextBackOff();
    if (next === STOP) return out;
    out.push(next);
  }
  return out;
}

describe('FixedBackOff', () => {
  it('gives maxAttempts delays of intervalMs, then STOP', () => {
    expect(drain(new FixedBackOff(50, 2))).toEqual([50, 50]);
    expect(drain(new FixedBackOff(0, 9))).toEqual(Array(9).fill(0));
    expect(drain(new FixedBackOff(10, 0))).toEqual([]);
  });

  it("defaults to Spring's 5000 ms, unlimited attempts", () => {
    const backOff = new FixedBackOff();
    expect(backOff.intervalMs).toBe(5000);
    expect(drain(backOff, 20)).toHaveLength(20);
  });

  it('starts every execution afresh', () => {
    const backOff = new FixedBackOff(1, 1);
    expect(drain(backOff)).toEqual([1]);
    expect(drain(backOff)).toEqual([1]);
  });

  it.each([
    [-1, 3, 'FixedBackOff.intervalMs'],
    [Number.NaN, 3, 'FixedBackOff.intervalMs'],
    [Infinity, 3, 'FixedBackOff.intervalMs'],
    [10, 1.5, 'FixedBackOff.maxAttempts'],
    [10, -1, 'FixedBackOff.maxAttempts'],
  ])('rejects FixedBackOff(%s, %s) naming %s', (interval, attempts, parameter) => {
    const create = () => new FixedBackOff(interval, attempts);
    expect(create).toThrow(ErrorHandlingConfigurationError);
    expect(create).toThrow(parameter.split('.')[1]!);
    try {
      create();
    } catch (error) {
      expect((error as ErrorHandlingConfigurationError).parameter).toBe(parameter);
    }
  });
});

describe('ExponentialBackOff', () => {
  it("follows Spring's defaults: 2000 ms times 1.5, capped at 30000 ms, unlimited", () => {
    expect(drain(new ExponentialBackOff(), 12)).toEqual([2000, 3000, 4500, 6750, 10125, 15188, 22782, 30000, 30000, 30000, 30000, 30000]);
  });

  it('stops after maxRetries', () => {
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxRetries: 4 }))).toEqual([100, 200, 400, 800]);
  });

  it('stops once the delays handed out reach maxElapsedTime', () => {
    // 100 + 200 + 400 = 700 < 1000, then 800 takes the sum past 1000: the next call stops.
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxElapsedTime: 1000 }))).toEqual([100, 200, 400, 800]);
  });

  it('never gives a delay shorter than the configured one, with or without jitter', () => {
    const plain = drain(new ExponentialBackOff({ initialInterval: 3, multiplier: 1.1, maxInterval: 10, maxRetries: 15 }));
    let exact = 3;
    for (const delay of plain) {
      expect(delay).toBeGreaterThanOrEqual(exact);
      exact = Math.min(exact * 1.1, 10);
    }
    const jittered = drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxRetries: 5, jitter: 0.5, random: () => 0.999 }));
    expect(jittered).toEqual([150, 300, 600, 1200, 2400]);
    const noJitterDrawn = drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxRetries: 3, jitter: 0.5, random: () => 0 }));
    expect(noJitterDrawn).toEqual([100, 200, 400]);
  });

  it.each([
    [{ initialInterval: -5 }, 'initialInterval'],
    [{ maxInterval: Number.POSITIVE_INFINITY }, 'maxInterval'],
    [{ multiplier: 0.5 }, 'multiplier'],
    [{ multiplier: Number.NaN }, 'multiplier'],
    [{ initialInterval: 5000, maxInterval: 1000 }, 'maxInterval'],
    [{ maxElapsedTime: -1 }, 'maxElapsedTime'],
    [{ maxRetries: 2.5 }, 'maxRetries'],
    [{ jitter: 2 }, 'jitter'],
  ])('rejects %o naming %s', (options, parameter) => {
    expect(() => new ExponentialBackOff(options)).toThrow(ErrorHandlingConfigurationError);
    expect(() => new ExponentialBackOff(options)).toThrow(new RegExp(`ExponentialBackOff: ${parameter}`));
  });
});
