import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.ts';

describe('createRateLimiter', () => {
  it('allows a burst, then refuses with the seconds until the next token, and refills at the rate', () => {
    let t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => t });
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take('b').ok).toBe(true); // keys are independent
    t = 500; // 2/s → one token after 500 ms
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
  });

  it('remembers at most maxKeys buckets, forgetting the least recently used', () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a'); // a is now the most recent; b is the oldest
    limiter.take('c');
    expect(limiter.size).toBe(2);
    expect(limiter.take('b').ok).toBe(true); // b was forgotten: a full bucket again
    expect(limiter.take('c').ok).toBe(false);
  });
});
