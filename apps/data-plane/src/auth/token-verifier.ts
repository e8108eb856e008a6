import { SlateError } from '@slate/graph';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';
import type { Principal } from './principal.ts';

/** Verifies access tokens issued by the metadata plane. */
export interface TokenVerifier {
  /** @throws SlateError kind `authentication` (`UNAUTHENTICATED`) for a missing, expired, tampered or foreign token. */
  verify(token: string): Promise<Principal>;
}

const Claims = z.object({
  sub: z.string(),
  client_id: z.string().optional(),
  kind: z.enum(['service_token', 'user']).default('service_token'),
  env: z.string(),
  team: z.string().optional(),
  project: z.string().optional(),
  perms: z.array(z.string()).default([]),
});

/**
 * Verifies EdDSA JWTs locally against the metadata plane's JWKS: keys are cached and refetched when a
 * token names an unknown key id (so signing-key rotation needs no restart), and no request goes to the
 * metadata plane per query.
 *
 * @example
 * const verifier = createTokenVerifier({ jwksUrl: 'http://127.0.0.1:4000/.well-known/jwks.json', issuer: 'http://127.0.0.1:4000' });
 */
export function createTokenVerifier(options: {
  jwksUrl: string;
  issuer: string;
  audience?: string;
  keys?: JWTVerifyGetKey;
}): TokenVerifier {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000 });
  return {
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience ?? 'slate',
          algorithms: ['EdDSA'],
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
      return {
        subject: c.sub,
        clientId: c.client_id,
        kind: c.kind,
        environment: c.env,
        team: c.team,
        project: c.project,
        permissions: c.perms,
      };
    },
  };
}
