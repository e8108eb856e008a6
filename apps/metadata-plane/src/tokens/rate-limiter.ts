/** The outcome of asking a rate limiter for one unit of work. */
export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** A token-bucket rate limiter keyed by caller (client id, source IP, or one global key). */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket, or says how long until one is available. */
  take(key: string): RateDecision;
  /** Buckets currently remembered (bounded by `maxKeys`). */
  readonly size: number;
}

export interface RateLimiterOptions {
  /** Sustained requests per second per key. */
  readonly ratePerSecond: number;
  /** Requests a quiet key may make at once. */
  readonly burst: number;
  /**
   * Keys remembered at once (default 10 000). When full, the least recently used bucket is forgotten, so
   * memory stays bounded whatever the number of callers; a forgotten key starts again with a full bucket,
   * which is why the token endpoint also keeps a global bucket.
   */
  readonly maxKeys?: number;
  /** Injected clock in milliseconds (tests). */
  readonly now?: () => number;
}

/**
 * Creates a token-bucket limiter: each key holds up to `burst` tokens, refilled at `ratePerSecond`.
 *
 * @example
 * const perIp = createRateLimiter({ ratePerSecond: 5, burst: 20 });
 * const decision = perIp.take('203.0.113.7');
 * if (!decision.ok) reply.header('retry-after', decision.retryAfterSeconds);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      const previous = buckets.get(key);
      const tokens = previous
        ? Math.min(options.burst, previous.tokens + ((t - previous.at) / 1000) * options.ratePerSecond)
        : options.burst;
      // Re-inserting moves the key to the end of the Map's order: the first key is the least recently used.
      buckets.delete(key);
      if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
      if (tokens >= 1) {
        buckets.set(key, { tokens: tokens - 1, at: t });
        return { ok: true };
      }
      buckets.set(key, { tokens, at: t });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / options.ratePerSecond)) };
    },
    get size() {
      return buckets.size;
    },
  };
}
