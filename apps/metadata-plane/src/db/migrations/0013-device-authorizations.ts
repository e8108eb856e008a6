import { type Kysely, sql } from 'kysely';

/**
 * OAuth 2.0 device authorization grants (RFC 8628) behind `slate login`: the device code and the user code
 * are kept only as sha256 hashes; a row lives a few minutes (`expires_at`) and is purged a day later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_authorizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('device_code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_code_hash', 'text', (c) => c.notNull().unique())
    /** What the CLI calls itself (shown on the approval page), e.g. `slate on laptop`. */
    .addColumn('client_name', 'text', (c) => c.notNull())
    /** `pending`, `approved`, `denied` or `consumed` (the credentials were handed out, once). */
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('interval_s', 'integer', (c) => c.notNull())
    .addColumn('last_polled_at', 'timestamptz')
    .addColumn('user_id', 'text')
    .addColumn('environment_id', 'text', (c) => c.references('environments.id').onDelete('cascade'))
    .addColumn('permissions', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('device_authorizations_expires')
    .on('device_authorizations')
    .column('expires_at')
    .execute();
}
