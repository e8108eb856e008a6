import type { Kysely } from 'kysely';

/** Files audit entries under a team, so each team's admins read their own log. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('team_id', 'text').execute();
  await db.schema.createIndex('audit_log_team').on('audit_log').columns(['team_id', 'id']).execute();
}
