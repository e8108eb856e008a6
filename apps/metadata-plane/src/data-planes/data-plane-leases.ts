import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import type { DataPlaneIdentity } from './data-plane-instances.ts';

/** How long an expired lease is kept (so a late claimant of the same job still sees it was held). */
export const LEASE_KEPT_AFTER_EXPIRY_MS = 24 * 60 * 60 * 1000;

/** Longest lease a data plane may take; a holder renews well before it runs out. */
export const MAX_LEASE_SECONDS = 600;

export const LeaseRequestSchema = z.object({
  /** The job's key, chosen by the data plane (`offline-query:<environment>/<revision>`, …). */
  key: z.string().min(1).max(300),
  /** How long the lease lasts unless renewed. */
  ttl_seconds: z.number().int().min(1).max(MAX_LEASE_SECONDS),
});
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>;

/** The answer to a claim: whether the caller holds the job now, and who does. */
export interface LeaseView {
  readonly key: string;
  readonly granted: boolean;
  readonly holder: string;
  readonly expires_at: string;
  /** 1 for the first holder; each take-over after an expiry adds one. */
  readonly generation: number;
}

/** The holder name of an instance (legacy secrets without an instance hold as `default`). */
const holderOf = (identity: DataPlaneIdentity) => identity.instance_id ?? 'default';

/**
 * Claims (or renews) the lease on a job for one instance of a data plane: granted when nobody holds it,
 * when the caller already holds it (a renewal, extending it), or when the holder let it expire (a
 * take-over: the generation goes up). One statement, so two instances claiming at once cannot both win.
 * Leases are per data plane: instances of another data plane never compete for them.
 *
 * @example
 * const lease = await claimLease(db, identity, { key: 'offline-query:env/rev', ttl_seconds: 60 }, new Date());
 */
export async function claimLease(
  db: Kysely<Database>,
  identity: DataPlaneIdentity,
  request: LeaseRequest,
  now: Date,
): Promise<LeaseView> {
  const { key, ttl_seconds } = LeaseRequestSchema.parse(request);
  const holder = holderOf(identity);
  const until = new Date(now.getTime() + ttl_seconds * 1000);
  const claimed = await sql<{ holder: string; expires_at: Date; generation: number }>`
    insert into data_plane_leases (data_plane_id, key, holder, expires_at, generation)
    values (${identity.id}, ${key}, ${holder}, ${until}, 1)
    on conflict (data_plane_id, key) do update set
      holder = excluded.holder,
      expires_at = excluded.expires_at,
      generation = data_plane_leases.generation + (case when data_plane_leases.holder = excluded.holder then 0 else 1 end)
    where data_plane_leases.holder = excluded.holder or data_plane_leases.expires_at <= ${now}
    returning holder, expires_at, generation`.execute(db);
  // Leases of finished jobs are never released by some callers (a cron fire's claim just runs out): drop
  // those that ran out a day ago, through the `expires_at` index, so the table stays the size of a day.
  await db
    .deleteFrom('data_plane_leases')
    .where('expires_at', '<', new Date(now.getTime() - LEASE_KEPT_AFTER_EXPIRY_MS))
    .execute();
  const row =
    claimed.rows[0] ??
    (await db
      .selectFrom('data_plane_leases')
      .select(['holder', 'expires_at', 'generation'])
      .where('data_plane_id', '=', identity.id)
      .where('key', '=', key)
      .executeTakeFirstOrThrow());
  return {
    key,
    granted: claimed.rows.length > 0,
    holder: row.holder,
    expires_at: new Date(row.expires_at).toISOString(),
    generation: Number(row.generation),
  };
}

/** Gives a lease up (the job finished): only its holder can; anything else is ignored. */
export async function releaseLease(
  db: Kysely<Database>,
  identity: DataPlaneIdentity,
  key: string,
): Promise<{ released: boolean }> {
  const result = await db
    .deleteFrom('data_plane_leases')
    .where('data_plane_id', '=', identity.id)
    .where('key', '=', key)
    .where('holder', '=', holderOf(identity))
    .executeTakeFirst();
  return { released: Number(result.numDeletedRows) > 0 };
}
