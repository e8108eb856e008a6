import type { Kysely } from 'kysely';

/**
 * What `slate apply` records of how a deployment was made: `dirty` (the working tree had changes not in
 * the recorded commit; null when unknown, e.g. outside git) and `diff_hash` (sha256 of the diff against
 * the deployment that was active, as `slate diff` shows it).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deployments')
    .addColumn('dirty', 'boolean')
    .addColumn('diff_hash', 'text')
    .execute();
}
