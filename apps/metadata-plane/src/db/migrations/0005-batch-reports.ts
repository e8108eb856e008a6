import { type Kysely, sql } from 'kysely';

/** The final report of each finished offline query or run, as data planes send it over `batch-report`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batch_reports')
    .addColumn('operation_id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('data_plane_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('report', 'jsonb', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('batch_reports_environment')
    .on('batch_reports')
    .columns(['environment_id', 'finished_at'])
    .execute();
}
