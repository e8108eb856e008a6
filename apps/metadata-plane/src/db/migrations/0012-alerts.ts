import { type Kysely, sql } from 'kysely';

/**
 * Alerts as code: the evaluation state of each check (chart trigger or drift check) of an environment's
 * active deployment, the incidents they open, the routes that receive them per owner (targets sealed
 * under the key-encryption key) and the deliveries of each incident event to each route.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('metric_checks')
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    /** `chart` (a chart's trigger) or `drift`. */
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('every_s', 'integer', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('deployment_id', 'text')
    /** Evaluations due up to here were enqueued (or skipped as missed). */
    .addColumn('watermark_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_evaluated_at', 'timestamptz')
    .addColumn('last_value', 'double precision')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('metric_checks_pk', ['environment_id', 'name'])
    .execute();
  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('check_name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    /** The group that fired (`resolver=a` …), `''` for an ungrouped series. */
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('trigger_name', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    /** `open` or `resolved`; acknowledging keeps it open (`acked_at`). */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('peak_value', 'double precision')
    /** The watched series (per minute) when it fired: `[{ at, value }]`. */
    .addColumn('series', 'jsonb', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_evaluated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('acked_at', 'timestamptz')
    .addColumn('acked_by', 'text')
    .execute();
  // At most one open incident per check and group: a second evaluation while firing updates it.
  await sql`CREATE UNIQUE INDEX incidents_one_open ON incidents (environment_id, check_name, group_key) WHERE status = 'open'`.execute(
    db,
  );
  await db.schema
    .createIndex('incidents_by_time')
    .on('incidents')
    .columns(['environment_id', 'opened_at'])
    .execute();
  await db.schema
    .createTable('alert_routes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    /** The owner string triggers name; `*` receives every owner's alerts. */
    .addColumn('owner', 'text', (c) => c.notNull())
    /** `webhook`, `slack` or `pagerduty`. */
    .addColumn('type', 'text', (c) => c.notNull())
    /** The URL and its secret (signing secret, routing key) in an AES-256-GCM envelope: never returned. */
    .addColumn('target_envelope', 'jsonb', (c) => c.notNull())
    /** What the API shows instead (the URL's host). */
    .addColumn('target_hint', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('alert_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
    .addColumn('route_id', 'text', (c) => c.notNull().references('alert_routes.id').onDelete('cascade'))
    /** `trigger` or `resolve`. */
    .addColumn('event', 'text', (c) => c.notNull())
    /** `pending`, `delivered` or `dead` (out of attempts: the dead letter, listed by the API). */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('alert_deliveries_once', ['incident_id', 'route_id', 'event'])
    .execute();
  await db.schema
    .createIndex('alert_deliveries_due')
    .on('alert_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
}
