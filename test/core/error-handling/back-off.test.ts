import { ErrorHandlingConfigurationError, ExponentialBackOff, ExponentialBackOffWithMaxRetries, FixedBackOff, STOP, type BackOff } from '@kafka-nest/core';
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
  it("follows Spring's defaults: 2000 ms times 1.5 in Spring's long arithmetic, capped at 30000 ms, unlimited", () => {
    // Spring: `long i = current; i *= 1.5;` truncates at each step: 10125 × 1.5 = 15187.5 -> 15187, × 1.5 = 22780.5 -> 22780.
    expect(drain(new ExponentialBackOff(), 12)).toEqual([2000, 3000, 4500, 6750, 10125, 15187, 22780, 30000, 30000, 30000, 30000, 30000]);
  });

  it('truncates each step, as Spring does, rather than multiplying exact values', () => {
    // Exact products would be 156.25, 195.3125, 244.140625, 305.17...: rounded up, 157, 196, 245, then the cap.
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 1.25, maxInterval: 300, maxRetries: 7 }))).toEqual([
      100, 125, 156, 195, 243, 300, 300,
    ]);
    // Doubles as in Java: 100 * 1.15 is 114.99999999999999, which (long) makes 114.
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 1.15, maxRetries: 2 }))).toEqual([100, 114]);
  });

  it('stops after maxRetries', () => {
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxRetries: 4 }))).toEqual([100, 200, 400, 800]);
  });

  it('stops once the delays handed out reach maxElapsedTime', () => {
    // 100 + 200 + 400 = 700 < 1000, then 800 takes the sum past 1000: the next call stops.
    expect(drain(new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxElapsedTime: 1000 }))).toEqual([100, 200, 400, 800]);
  });

  it('jitter only lengthens the computed delays', () => {
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

describe('ExponentialBackOffWithMaxRetries', () => {
  it('gives maxRetries growing delays, then STOP, with the ExponentialBackOff defaults otherwise', () => {
    expect(drain(new ExponentialBackOffWithMaxRetries(3, { initialInterval: 1000, multiplier: 2 }))).toEqual([1000, 2000, 4000]);
    expect(drain(new ExponentialBackOffWithMaxRetries(4))).toEqual([2000, 3000, 4500, 6750]);
    expect(drain(new ExponentialBackOffWithMaxRetries(0))).toEqual([]);
  });

  it('refuses a fractional retry count and a maxElapsedTime of its own', () => {
    expect(() => new ExponentialBackOffWithMaxRetries(1.5)).toThrow(ErrorHandlingConfigurationError);
    expect(() => new ExponentialBackOffWithMaxRetries(3, { maxElapsedTime: 5000 } as never)).toThrow(/'maxElapsedTime' is set by the maxRetries argument \(3\)/);
  });
});
