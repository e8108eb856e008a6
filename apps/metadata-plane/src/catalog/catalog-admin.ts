import { randomInt } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { UserPrincipal } from '../auth/principal.ts';
import type { Database, EnvironmentRow } from '../db/schema.ts';

/** Ids as the seed requires them: lowercase letters and digits, fewer than 10 characters. */
export const ShortIdSchema = z
  .string()
  .regex(/^[a-z0-9]{1,9}$/, 'must be lowercase letters and digits only, 1 to 9 characters');

export const CreateTeamSchema = z.object({
  id: ShortIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
});
export const CreateProjectSchema = z.object({
  id: ShortIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
  team_id: z.string().min(1),
});
export const CreateEnvironmentSchema = z.object({
  id: ShortIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
  project_id: z.string().min(1),
  /** Pin to a data plane; default: the registered one serving the fewest environments. */
  data_plane_id: z.string().min(1).optional(),
});

/** `PUT /v1/teams/:id`, `/v1/projects/:id` and `/v1/environments/:id`: a new display name (ids never change). */
export const RenameSchema = z.object({ name: z.string().trim().min(1).max(200) });

/** A fresh short id with a one-letter prefix (`t`, `p`, `e`) and 8 base36 characters. */
function shortId(prefix: string): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  let out = prefix;
  for (let i = 0; i < 8; i++) out += alphabet[randomInt(36)];
  return out;
}

async function insertOrConflict<T>(what: string, id: string, insert: () => Promise<T>): Promise<T> {
  try {
    return await insert();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new SlateError('conflict', 'ALREADY_EXISTS', `${what} ${id} already exists`);
    }
    throw error;
  }
}

/** Creates a team whose first member (owner) is the creating user. @throws conflict `ALREADY_EXISTS` */
export async function createTeam(
  db: Kysely<Database>,
  creator: UserPrincipal,
  input: z.output<typeof CreateTeamSchema>,
) {
  const id = input.id ?? shortId('t');
  return insertOrConflict('team', id, () =>
    db.transaction().execute(async (trx) => {
      const team = await trx
        .insertInto('teams')
        .values({ id, name: input.name })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('team_members')
        .values({ user_id: creator.id, team_id: id, role: 'owner' })
        .execute();
      return { id: team.id, name: team.name, created_at: team.created_at.toISOString() };
    }),
  );
}

/** @throws conflict `ALREADY_EXISTS` */
export async function createProject(db: Kysely<Database>, input: z.output<typeof CreateProjectSchema>) {
  const id = input.id ?? shortId('p');
  const row = await insertOrConflict('project', id, () =>
    db
      .insertInto('projects')
      .values({ id, name: input.name, team_id: input.team_id })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  return { id: row.id, name: row.name, team_id: row.team_id, created_at: row.created_at.toISOString() };
}

/**
 * Creates an environment and assigns it to a data plane in the same transaction. The data plane then
 * learns of it through its desired state and provisions it (see `provisioningOf`); nothing is configured
 * by hand per environment.
 *
 * @throws SlateError conflict `ALREADY_EXISTS`; not_found `DATA_PLANE_NOT_FOUND`.
 */
export async function createEnvironment(
  db: Kysely<Database>,
  project: { id: string; team_id: string },
  input: z.output<typeof CreateEnvironmentSchema>,
): Promise<EnvironmentRow> {
  const id = input.id ?? shortId('e');
  return insertOrConflict('environment', id, () =>
    db.transaction().execute(async (trx) => {
      let dataPlaneId: string | null = null;
      if (input.data_plane_id) {
        const dp = await trx
          .selectFrom('data_planes')
          .select('id')
          .where('id', '=', input.data_plane_id)
          .executeTakeFirst();
        if (!dp) {
          throw new SlateError(
            'not_found',
            'DATA_PLANE_NOT_FOUND',
            `data plane ${input.data_plane_id} does not exist`,
          );
        }
        dataPlaneId = dp.id;
      } else {
        const least = await trx
          .selectFrom('data_planes')
          .leftJoin('environments', 'environments.data_plane_id', 'data_planes.id')
          .select(['data_planes.id', (eb) => eb.fn.count('environments.id').as('n')])
          .groupBy(['data_planes.id', 'data_planes.created_at'])
          .orderBy('n')
          .orderBy('data_planes.created_at')
          .orderBy('data_planes.id')
          .limit(1)
          .executeTakeFirst();
        dataPlaneId = least?.id ?? null;
      }
      return trx
        .insertInto('environments')
        .values({
          id,
          name: input.name,
          project_id: project.id,
          team_id: project.team_id,
          data_plane_id: dataPlaneId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    }),
  );
}

/** @throws SlateError not_found `PROJECT_NOT_FOUND` */
export async function getProject(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'PROJECT_NOT_FOUND', `project ${id} does not exist`);
  return row;
}

/** @throws SlateError not_found `TEAM_NOT_FOUND` */
export async function getTeam(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'TEAM_NOT_FOUND', `team ${id} does not exist`);
  return row;
}

/** The five buckets of the install guide, each holding one prefix per environment. */
export const PROVISIONED_BUCKETS = ['data', 'source', 'dataset', 'model', 'stages'] as const;

/** What a data plane must provision for an environment. Deterministic: the same id always maps the same. */
export interface Provisioning {
  readonly object_prefixes: Readonly<Record<(typeof PROVISIONED_BUCKETS)[number], string>>;
  readonly online_namespace: string;
}

export function provisioningOf(environmentId: string): Provisioning {
  const prefix = `env/${environmentId}/`;
  return {
    object_prefixes: Object.fromEntries(
      PROVISIONED_BUCKETS.map((b) => [b, prefix]),
    ) as Provisioning['object_prefixes'],
    online_namespace: environmentId,
  };
}

/**
 * Renames a team, project or environment. Only the display name changes: ids, which deployments, tokens,
 * secrets and data-plane namespaces hang off, stay the same, so nothing downstream needs to move.
 *
 * @throws SlateError not_found `TEAM_NOT_FOUND` / `PROJECT_NOT_FOUND` / `ENVIRONMENT_NOT_FOUND`
 */
export async function renameCatalogEntry(
  db: Kysely<Database>,
  table: 'teams' | 'projects' | 'environments',
  id: string,
  name: string,
): Promise<void> {
  const result = await db.updateTable(table).set({ name }).where('id', '=', id).executeTakeFirst();
  if (result.numUpdatedRows === 0n) {
    const what = { teams: 'TEAM', projects: 'PROJECT', environments: 'ENVIRONMENT' }[table];
    throw new SlateError('not_found', `${what}_NOT_FOUND`, `${what.toLowerCase()} ${id} does not exist`);
  }
}
