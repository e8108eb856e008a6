import { type Kysely, sql } from 'kysely';

/**
 * Data planes as named groups of instances: each replica registers as itself (its own secret, heartbeat
 * and status), so re-registering one no longer revokes its peers; and job leases, so each background job
 * of a data plane runs on exactly one of its instances at a time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('data_plane_instances')
    .addColumn('data_plane_id', 'text', (c) => c.notNull().references('data_planes.id').onDelete('cascade'))
    .addColumn('instance_id', 'text', (c) => c.notNull())
    /** sha256 of the instance's own long-lived secret (rotated when this instance re-registers). */
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('url', 'text', (c) => c.notNull())
    /** The roles the instance runs (`query`, `persistence`, `streaming`, `jobs`). */
    .addColumn('roles', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('version', 'text')
    .addColumn('public_key', 'text')
    .addColumn('last_heartbeat_at', 'timestamptz')
    /** The instance's last status report (what each environment has loaded on it). */
    .addColumn('status', 'jsonb')
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('data_plane_instances_pk', ['data_plane_id', 'instance_id'])
    .execute();
  await db.schema
    .createTable('data_plane_leases')
    .addColumn('data_plane_id', 'text', (c) => c.notNull().references('data_planes.id').onDelete('cascade'))
    /** The job's key (e.g. `offline-query:<environment>/<revision>`), chosen by the data plane. */
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    /** How many times the lease changed hands (1 for the first claim); a take-over adds one. */
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('data_plane_leases_pk', ['data_plane_id', 'key'])
    .execute();
  // Claims prune leases expired for a day (one per cron fire and take-over would otherwise pile up).
  await db.schema
    .createIndex('data_plane_leases_expires_idx')
    .on('data_plane_leases')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('data_plane_leases').execute();
  await db.schema.dropTable('data_plane_instances').execute();
}
