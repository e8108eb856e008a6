import { type Kysely, sql } from 'kysely';

/**
 * Metric rollups reported by data planes (ADR 0020): one table of points at two
 * resolutions (`1m` kept 2 days, `1h` kept 90 days), and the receipts that make a retried report count once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('metric_points')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    /** `1m` or `1h`: the width of `bucket`. */
    .addColumn('resolution', 'text', (c) => c.notNull())
    /** The rollup kind (`query`, `resolver`, `feature`, `stream`, `run`, `schedule`). */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** The series within the kind: query name, resolver or feature FQN, ... */
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('bucket', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('nulls', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('hits', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('misses', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('sum', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('min', 'float8')
    .addColumn('max', 'float8')
    /** A mergeable log histogram (`LogHistogram`): bucket index → count. */
    .addColumn('hist', 'jsonb')
    .addPrimaryKeyConstraint('metric_points_pk', ['environment_id', 'resolution', 'kind', 'name', 'bucket'])
    .execute();
  // Retention deletes by resolution and age.
  await db.schema
    .createIndex('metric_points_retention_idx')
    .on('metric_points')
    .columns(['resolution', 'bucket'])
    .execute();
  await db.schema
    .createTable('metric_receipts')
    /** The reporting process (data plane instance and per-process nonce), prefixed by its data plane. */
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('minute', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('metric_receipts_pk', ['source', 'environment_id', 'kind', 'name', 'minute'])
    .execute();
  await db.schema.createIndex('metric_receipts_minute_idx').on('metric_receipts').column('minute').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('metric_receipts').execute();
  await db.schema.dropTable('metric_points').execute();
}
