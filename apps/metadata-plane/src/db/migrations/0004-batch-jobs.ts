import { type Kysely, sql } from 'kysely';

/** Long-running work on data planes (offline queries, runs) as last reported over the `batch-status` queue. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batch_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('data_plane_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress', 'double precision')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('batch_jobs_environment')
    .on('batch_jobs')
    .columns(['environment_id', 'reported_at'])
    .execute();
}
