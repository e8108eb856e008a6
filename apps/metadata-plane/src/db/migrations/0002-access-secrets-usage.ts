import { type Kysely, sql } from 'kysely';

/**
 * Custom and environment roles, token rotation and feature-tag rules, environment provisioning, sealed
 * secrets, usage metering, OIDC login transactions, and audit-log query indexes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('custom_roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('permissions', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('custom_roles_team_name', ['team_id', 'name'])
    .execute();

  await db.schema
    .createTable('environment_roles')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('environment_roles_pk', ['user_id', 'environment_id'])
    .execute();

  await db.schema
    .alterTable('service_tokens')
    .addColumn('feature_permissions', 'jsonb')
    .addColumn('rotated_at', 'timestamptz')
    .execute();

  await db.schema
    .alterTable('environments')
    .addColumn('provisioned', 'jsonb')
    .addColumn('provisioned_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('secrets')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    /** A sealed box to the owning data plane's X25519 key; the plaintext is never stored. */
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('data_plane_id', 'text', (c) => c.notNull().references('data_planes.id'))
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('secrets_pk', ['environment_id', 'name'])
    .execute();

  await db.schema
    .createTable('usage_hourly')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('hour', 'timestamptz', (c) => c.notNull())
    .addColumn('queries', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('rows', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('compute_seconds', 'double precision', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('usage_hourly_pk', ['environment_id', 'hour'])
    .execute();

  await db.schema
    .createTable('usage_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('data_plane_id', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('oidc_transactions')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'id']).execute();
}
