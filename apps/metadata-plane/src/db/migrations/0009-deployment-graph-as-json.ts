import { type Kysely, sql } from 'kysely';

/**
 * A deployment's graph is stored as `json` (its text as written), not `jsonb`: `jsonb` reorders object keys
 * (shorter keys first), and a struct feature's field order is the order of its `fields` object — the order
 * positional struct values and Arrow struct columns follow. The compatibility suite found `{street, city,
 * zip}` served as `[zip, city, street]`. Graphs deployed before this migration keep the reordered fields
 * until they are deployed again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table deployments alter column graph type json using graph::json`.execute(db);
}
