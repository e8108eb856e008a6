import { SlateError } from '@slate/graph';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';
import { FeaturePermissionsSchema } from './feature-permissions.ts';
import type { Principal } from './principal.ts';

/**
 * A service token whose access tokens are refused (from the desired state): JWTs with `sub === id` and
 * `iat < issued_before` (`null`: every one). `until` (epoch seconds) is when they have all expired.
 */
export interface TokenRevocation {
  readonly id: string;
  readonly issued_before: number | null;
  readonly until: number;
}

/** Verifies access tokens issued by the metadata plane. */
export interface TokenVerifier {
  /**
   * @throws SlateError kind `authentication` (`UNAUTHENTICATED`) for a missing, expired, tampered, foreign
   *   or revoked token.
   */
  verify(token: string): Promise<Principal>;
  /**
   * The principal of a token verified recently (the cache `verify` keeps), without waiting: the query
   * path's common case, answered in the same turn. `undefined` when the token must go through `verify`.
   * @throws SlateError `UNAUTHENTICATED` when the cached token has since been revoked.
   */
  verifyCached(token: string): Principal | undefined;
  /**
   * Replaces the revocation list (the metadata plane sends the whole list with each desired state) and
   * forgets every cached verification it covers, so a revoked token is refused from the next request.
   */
  setRevocations(revocations: readonly TokenRevocation[]): void;
}

const Claims = z.object({
  sub: z.string(),
  client_id: z.string().optional(),
  kind: z.enum(['service_token', 'user']).default('service_token'),
  env: z.string(),
  team: z.string().optional(),
  project: z.string().optional(),
  perms: z.array(z.string()).default([]),
  feature_permissions: FeaturePermissionsSchema.optional(),
});

/**
 * Verifies EdDSA JWTs locally against the metadata plane's JWKS: keys are cached and refetched when a
 * token names an unknown key id (so signing-key rotation needs no restart), and no request goes to the
 * metadata plane per query. A verified token is remembered (by its exact text, so any tampering misses the
 * cache) for `cacheMs`, never past its `exp`; refused tokens are never remembered.
 *
 * @example
 * const verifier = createTokenVerifier({ jwksUrl: 'http://127.0.0.1:4000/.well-known/jwks.json', issuer: 'http://127.0.0.1:4000' });
 */
export function createTokenVerifier(options: {
  jwksUrl: string;
  issuer: string;
  audience?: string;
  keys?: JWTVerifyGetKey;
  /**
   * How long a verified token's principal is reused without verifying its signature again (default
   * 60 000 ms, never past the token's expiry; 0 disables). Bounds how long a token signed by a key the
   * metadata plane has since removed keeps working.
   */
  cacheMs?: number;
  /** Verified tokens remembered at once (default 10 000); the least recently used are forgotten first. */
  cacheSize?: number;
  now?: () => number;
}): TokenVerifier {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000 });
  const cacheMs = options.cacheMs ?? 60_000;
  const cacheSize = options.cacheSize ?? 10_000;
  const now = options.now ?? Date.now;
  // Signature checks cost ~100 µs of CPU each: a client reusing its token should not pay that per query.
  const verified = new Map<string, { principal: Principal; issuedAt: number; until: number }>();
  let revoked = new Map<string, TokenRevocation>();
  const isRevoked = (principal: Principal, issuedAt: number) => {
    if (principal.kind !== 'service_token') return false;
    const revocation = revoked.get(principal.subject);
    if (!revocation || revocation.until * 1000 <= now()) return false;
    return revocation.issued_before === null || issuedAt < revocation.issued_before;
  };
  const refuseRevoked = (principal: Principal, issuedAt: number) => {
    if (isRevoked(principal, issuedAt)) {
      throw new SlateError('authentication', 'UNAUTHENTICATED', 'the access token was revoked');
    }
  };
  const remember = (
    token: string,
    principal: Principal,
    issuedAt: number,
    expiresAtS: number | undefined,
  ) => {
    if (cacheMs <= 0) return;
    const until = Math.min(
      now() + cacheMs,
      expiresAtS === undefined ? Number.POSITIVE_INFINITY : expiresAtS * 1000,
    );
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
    verified.set(token, { principal, issuedAt, until });
  };
  const verifyCached = (token: string): Principal | undefined => {
    const hit = verified.get(token);
    if (hit === undefined) return undefined;
    if (hit.until > now()) {
      refuseRevoked(hit.principal, hit.issuedAt);
      // Least recently used first out: a token in use stays while one-off tokens churn past it.
      verified.delete(token);
      verified.set(token, hit);
      return hit.principal;
    }
    verified.delete(token);
    return undefined;
  };
  return {
    setRevocations(revocations) {
      revoked = new Map(revocations.map((r) => [r.id, r]));
      for (const [token, entry] of verified) {
        if (isRevoked(entry.principal, entry.issuedAt)) verified.delete(token);
      }
    },
    verifyCached,
    async verify(token) {
      const cached = verifyCached(token);
      if (cached) return cached;
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience ?? 'slate',
          algorithms: ['EdDSA'],
          currentDate: new Date(now()),
        }));
      } catch (error) {
        const reason =
          error instanceof errors.JWTExpired
            ? 'the access token has expired'
            : error instanceof errors.JOSEError
              ? 'the access token is not valid'
              : 'the access token could not be verified';
        if (!(error instanceof errors.JOSEError)) {
          throw new SlateError(
            'unavailable',
            'JWKS_UNAVAILABLE',
            `${reason}: the metadata plane's keys are unreachable`,
            undefined,
            { cause: error },
          );
        }
        throw new SlateError('authentication', 'UNAUTHENTICATED', reason);
      }
      const claims = Claims.safeParse(payload);
      if (!claims.success)
        throw new SlateError('authentication', 'UNAUTHENTICATED', 'the access token lacks required claims');
      const c = claims.data;
      const principal: Principal = {
        subject: c.sub,
        clientId: c.client_id,
        kind: c.kind,
        environment: c.env,
        team: c.team,
        project: c.project,
        permissions: c.perms,
        ...(c.feature_permissions ? { featurePermissions: c.feature_permissions } : {}),
      };
      // No iat: treated as issued at the epoch, so any revocation of its subject covers it.
      const issuedAt = (payload as { iat?: number }).iat ?? 0;
      refuseRevoked(principal, issuedAt);
      remember(token, principal, issuedAt, (payload as { exp?: number }).exp);
      return principal;
    },
  };
}
