import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `c` + 24 lowercase base36 characters (25 in all, like Chalk's deployment ids); ~124 bits of randomness. */
export function newDeploymentId(): string {
  return `c${randomBase36(24)}`;
}

/** A short random id with a readable prefix, e.g. `newId('st')` → `st_k3j…`. */
export function newId(prefix: string, length = 16): string {
  return `${prefix}_${randomBase36(length)}`;
}

/** A high-entropy URL-safe secret: 32 random bytes (256 bits) in base64url after `prefix`. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

function randomBase36(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE36[randomInt(36)];
  return out;
}

/**
 * sha256 hex. Enough for high-entropy machine secrets (sessions, data-plane tokens): brute force over
 * 256 bits is hopeless, so a slow hash would only add latency on every request.
 */
export function sha256Hex(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Constant-time string comparison (compares digests so lengths may differ). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
