import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { ACCESS_TOKEN_TTL_SECONDS } from './token-lifetime.ts';

/**
 * A service token whose access tokens data planes must refuse (they verify JWTs offline, so they learn
 * revocations from the desired state). Matched on the JWT's `sub` (the service token id).
 */
export interface TokenRevocation {
  readonly id: string;
  /**
   * Refuse access tokens issued (JWT `iat`, epoch seconds) before this; `null` refuses every one (revoked).
   * A rotation refuses tokens from before its second, as the metadata plane does.
   */
  readonly issued_before: number | null;
  /** Epoch seconds after which every such access token has expired and the entry may be forgotten. */
  readonly until: number;
}

// An exchange that read the row just before the revocation committed may sign a moment after it.
const MARGIN_SECONDS = 60;

/**
 * Revocations and rotations of the service tokens of `dataPlaneId`'s environments that can still matter:
 * events older than the longest access-token lifetime (plus a margin) are left out, so the list prunes
 * itself with no clean-up job. Ordered by token id, so an unchanged list serializes identically.
 */
export async function tokenRevocations(
  db: Kysely<Database>,
  dataPlaneId: string,
  now: Date,
): Promise<TokenRevocation[]> {
  const horizon = new Date(now.getTime() - (ACCESS_TOKEN_TTL_SECONDS + MARGIN_SECONDS) * 1000);
  const rows = await db
    .selectFrom('service_tokens')
    .innerJoin('environments', 'environments.id', 'service_tokens.environment_id')
    .select(['service_tokens.id', 'service_tokens.revoked_at', 'service_tokens.rotated_at'])
    .where('environments.data_plane_id', '=', dataPlaneId)
    .where((eb) =>
      eb.or([eb('service_tokens.revoked_at', '>', horizon), eb('service_tokens.rotated_at', '>', horizon)]),
    )
    .orderBy('service_tokens.id')
    .execute();
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  return rows.map((r) => {
    const at = r.revoked_at ?? r.rotated_at!;
    return {
      id: r.id,
      issued_before: r.revoked_at ? null : seconds(r.rotated_at!),
      until: seconds(at) + ACCESS_TOKEN_TTL_SECONDS + MARGIN_SECONDS,
    };
  });
}
