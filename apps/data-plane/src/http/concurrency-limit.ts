import { SlateError } from '@slate/graph';

/** Caps work in flight per key (an environment), refusing rather than queueing past the cap. */
export interface ConcurrencyLimiter {
  /**
   * Takes a slot for `key`; call the returned release exactly once when the work settles.
   * @throws SlateError `TOO_MANY_REQUESTS` (kind `unavailable`, answered 429 with `Retry-After`) when
   * `key` already has `maxInFlight` requests running.
   */
  acquire(key: string): () => void;
  inFlight(key: string): number;
}

/**
 * Creates a limiter. Refusing at the cap keeps latency bounded for the requests already admitted: a
 * queue would only convert overload into timeouts, while a 429 tells clients to back off (the seed
 * product's clients retry 429/503 after `Retry-After`).
 *
 * @example
 * const limiter = createConcurrencyLimiter({ maxInFlight: 256 });
 * const release = limiter.acquire('env_dev');
 * try { await work(); } finally { release(); }
 */
export function createConcurrencyLimiter(options: {
  maxInFlight: number;
  /** Seconds clients are told to wait (default 1). */
  retryAfterS?: number;
}): ConcurrencyLimiter {
  const counts = new Map<string, number>();
  const retryAfterS = options.retryAfterS ?? 1;
  return {
    acquire(key) {
      const current = counts.get(key) ?? 0;
      if (current >= options.maxInFlight) {
        throw new SlateError(
          'unavailable',
          'TOO_MANY_REQUESTS',
          `environment ${key} already has ${current} requests in flight; retry after ${retryAfterS} s`,
          { retryAfterS },
        );
      }
      counts.set(key, current + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left > 0) counts.set(key, left);
        else counts.delete(key);
      };
    },
    inFlight: (key) => counts.get(key) ?? 0,
  };
}
