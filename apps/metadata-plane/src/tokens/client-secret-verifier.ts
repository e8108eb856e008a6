import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { SlateError } from '@slate/graph';
import { z } from 'zod';
import { type BoundedPool, createBoundedPool } from './bounded-pool.ts';
import { createRateLimiter, type RateLimiter } from './rate-limiter.ts';

/** Limits of the token endpoint's secret checks. Every field has a default. */
export const ClientSecretLimitsSchema = z.object({
  /** Argon2 checks running at once (each takes ~10 ms of one core and ~19 MiB). Default 2. */
  hashConcurrency: z.number().int().positive().default(2),
  /** Checks waiting for a slot; one more is answered 503 `TOKEN_ENDPOINT_BUSY` at once. Default 32. */
  hashQueue: z.number().int().nonnegative().default(32),
  /** Per source IP: sustained attempts per second and burst. Default 5/s, burst 20. */
  perIp: z.object({ ratePerSecond: z.number().positive(), burst: z.number().positive() }).default({
    ratePerSecond: 5,
    burst: 20,
  }),
  /** Per client id: sustained attempts per second and burst. Default 1/s, burst 10. */
  perClient: z.object({ ratePerSecond: z.number().positive(), burst: z.number().positive() }).default({
    ratePerSecond: 1,
    burst: 10,
  }),
  /** All callers together. Default 50/s, burst 100 (about what two hashing slots drain). */
  global: z.object({ ratePerSecond: z.number().positive(), burst: z.number().positive() }).default({
    ratePerSecond: 50,
    burst: 100,
  }),
  /** How long a verified secret is remembered (keyed HMAC, never the secret). Default 600 s; 0 disables. */
  verifiedTtlSeconds: z.number().nonnegative().default(600),
  /** Verified secrets remembered at once; the oldest is forgotten first. Default 10 000. */
  verifiedMax: z.number().int().positive().default(10_000),
});
export type ClientSecretLimits = z.input<typeof ClientSecretLimitsSchema>;

/**
 * Checks service-token client secrets for the token endpoint, bounding the work an attacker can cause. Two
 * steps, so that refused callers cost no database read: `admit` before the token row is read, then
 * `verify` against the row's hash.
 */
export interface ClientSecretVerifier {
  /**
   * Lets a request in: at once when the same client id and secret were verified recently (valid clients
   * never wait behind an attack), otherwise when the per-IP, per-client and global buckets each have a
   * token.
   *
   * @throws SlateError('rate_limited', 'RATE_LIMITED') with `details.retryAfterSeconds`.
   */
  admit(input: { readonly clientId: string; readonly secret: string; readonly ip: string }): SecretCheck;
}

/** One admitted check. */
export interface SecretCheck {
  /**
   * True when the secret matches `secretHash` (undefined: the client id is unknown, which costs a dummy
   * check so a miss takes as long as a wrong secret).
   *
   * @throws SlateError('unavailable', 'TOKEN_ENDPOINT_BUSY') with `details.retryAfterSeconds` when the
   *   hashing queue is full.
   */
  verify(secretHash: string | undefined): Promise<boolean>;
}

// Verified against when the client id is unknown, so a miss costs the same time as a wrong secret.
const DUMMY_HASH = await hash('slate-dummy-secret');

/**
 * Creates the verifier. Order of a check:
 * 1. a secret verified in the last `verifiedTtlSeconds` for the same client id passes the limits and,
 *    when the row's hash is still the one it was verified against, skips argon2 (an HMAC under a
 *    per-process random key: the cache never holds the secret; a rotation changes the hash, so the old
 *    secret goes to argon2 and fails): valid clients never queue behind an attack;
 * 2. the per-IP, per-client and global buckets each take one token (any empty → 429 with Retry-After);
 * 3. argon2 runs in a pool of `hashConcurrency` with a queue of `hashQueue` (full → 503 at once), which
 *    keeps the libuv thread pool (shared with DNS, files and the database driver) mostly free.
 *
 * @example
 * const secrets = createClientSecretVerifier({});
 * const check = secrets.admit({ clientId, secret, ip: request.ip }); // before reading the row
 * const ok = await check.verify(row?.secret_hash);
 */
export function createClientSecretVerifier(
  limits: ClientSecretLimits,
  options: { now?: () => number } = {},
): ClientSecretVerifier {
  const config = ClientSecretLimitsSchema.parse(limits);
  const now = options.now ?? Date.now;
  const perIp: RateLimiter = createRateLimiter({ ...config.perIp, now });
  const perClient: RateLimiter = createRateLimiter({ ...config.perClient, now });
  const global: RateLimiter = createRateLimiter({ ...config.global, maxKeys: 1, now });
  const pool: BoundedPool = createBoundedPool({
    concurrency: config.hashConcurrency,
    maxQueue: config.hashQueue,
    busyCode: 'TOKEN_ENDPOINT_BUSY',
    busyMessage: 'too many token requests are being checked; retry shortly',
  });
  const cacheKey = randomBytes(32);
  const verified = new Map<string, { mac: Buffer; secretHash: string; until: number }>();
  const macOf = (clientId: string, secret: string) =>
    createHmac('sha256', cacheKey).update(clientId).update('\0').update(secret).digest();
  const limit = (limiter: RateLimiter, key: string) => {
    const decision = limiter.take(key);
    if (!decision.ok) {
      throw new SlateError('rate_limited', 'RATE_LIMITED', 'too many token requests; retry later', {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
  };
  const remembered = (clientId: string, secret: string): string | undefined => {
    if (config.verifiedTtlSeconds <= 0) return undefined;
    const hit = verified.get(clientId);
    if (!hit || hit.until <= now()) return undefined;
    return timingSafeEqual(hit.mac, macOf(clientId, secret)) ? hit.secretHash : undefined;
  };
  return {
    admit({ clientId, secret, ip }) {
      const knownHash = remembered(clientId, secret);
      if (knownHash === undefined) {
        limit(perIp, ip);
        limit(perClient, clientId);
        limit(global, '*');
      }
      return {
        async verify(secretHash) {
          // The remembered hash must still be the row's: a rotation (new hash) sends the old secret to argon2.
          if (knownHash !== undefined && knownHash === secretHash) return true;
          const ok = await pool.run(() => verify(secretHash ?? DUMMY_HASH, secret).catch(() => false));
          if (ok && secretHash !== undefined && config.verifiedTtlSeconds > 0) {
            verified.delete(clientId);
            if (verified.size >= config.verifiedMax) verified.delete(verified.keys().next().value!);
            verified.set(clientId, {
              mac: macOf(clientId, secret),
              secretHash,
              until: now() + config.verifiedTtlSeconds * 1000,
            });
          }
          return ok;
        },
      };
    },
  };
}
