import { type Kysely, sql } from 'kysely';

/**
 * Schedules the metadata plane fires (cron resolvers and scheduled queries of each environment's active
 * deployment) and the trigger deliveries data planes lease.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    /** `resolver` (a `cron` resolver) or `query` (a scheduled query). */
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('schedule', 'text', (c) => c.notNull())
    /** `PLAY` or `PAUSE` (chalk.md §2.3 scheduled-resolver control). */
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('PLAY'))
    /** In the environment's active deployment (false: kept for its state, not fired). */
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('deployment_id', 'text')
    /** Due times up to here are done (fired, skipped as missed, or before the schedule was seen/resumed). */
    .addColumn('watermark_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_fired_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('schedules_pk', ['environment_id', 'kind', 'name'])
    .execute();
  await db.schema
    .createTable('schedule_deliveries')
    /** The trigger's idempotency key: one delivery per (environment, schedule, due time). */
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    /** `pending` (waiting or leased), `accepted` (the data plane started it) or `dead` (out of attempts). */
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('leased_until', 'timestamptz')
    .addColumn('leased_by', 'text')
    .addColumn('error', 'text')
    /** What the data plane started for it (a run id, an offline-query revision id): its job in `batch_jobs`. */
    .addColumn('operation_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('schedule_deliveries_pending')
    .on('schedule_deliveries')
    .columns(['environment_id', 'status', 'created_at'])
    .execute();
}
