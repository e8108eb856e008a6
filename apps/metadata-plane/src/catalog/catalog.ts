import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import type { Permission } from '../auth/permissions.ts';
import { assertCan, type Principal } from '../auth/principal.ts';
import type { Database, EnvironmentRow } from '../db/schema.ts';
import { decodeCursor, type Page, type PageQuery, toPage } from '../pagination.ts';

/** Wire shape of an environment. */
export interface EnvironmentView {
  readonly id: string;
  readonly name: string;
  readonly project_id: string;
  readonly team_id: string;
  readonly data_plane_id: string | null;
  readonly active_deployment_id: string | null;
  readonly desired_deployment_id: string | null;
  /** What its data plane reports having provisioned (object-storage prefixes, online namespace). */
  readonly provisioned: unknown;
  readonly provisioned_at: string | null;
  readonly created_at: string;
}

export function environmentView(row: EnvironmentRow): EnvironmentView {
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    team_id: row.team_id,
    data_plane_id: row.data_plane_id,
    active_deployment_id: row.active_deployment_id,
    desired_deployment_id: row.desired_deployment_id,
    provisioned: row.provisioned ?? null,
    provisioned_at: row.provisioned_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

/** @throws SlateError('not_found', 'ENVIRONMENT_NOT_FOUND') */
export async function getEnvironment(db: Kysely<Database>, id: string): Promise<EnvironmentRow> {
  const row = await db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'ENVIRONMENT_NOT_FOUND', `environment ${id} does not exist`);
  return row;
}

/**
 * The environment `id`, once `principal` may use `permission` in it.
 * @throws SlateError('not_found', 'ENVIRONMENT_NOT_FOUND'), or assertCan's refusal
 */
export async function getEnvironmentFor(
  db: Kysely<Database>,
  principal: Principal,
  id: string,
  permission: Permission,
): Promise<EnvironmentRow> {
  const env = await getEnvironment(db, id);
  assertCan(principal, permission, { teamId: env.team_id, environmentId: env.id });
  return env;
}

/** The team ids a principal can see: a token's one team, a user's memberships. */
export function visibleTeamIds(principal: Principal): string[] {
  return principal.kind === 'service_token' ? [principal.teamId] : [...principal.memberships.keys()];
}

export interface TeamView {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
}

export async function listTeams(
  db: Kysely<Database>,
  principal: Principal,
  page: PageQuery,
): Promise<Page<TeamView>> {
  const teams = visibleTeamIds(principal);
  if (teams.length === 0) return { items: [], next_cursor: null };
  let q = db.selectFrom('teams').selectAll().where('id', 'in', teams);
  if (page.cursor) q = q.where('id', '>', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(
    rows,
    page.limit,
    (r) => r.id,
    (r) => ({ id: r.id, name: r.name, created_at: r.created_at.toISOString() }),
  );
}

export interface ProjectView {
  readonly id: string;
  readonly name: string;
  readonly team_id: string;
  readonly created_at: string;
}

export async function listProjects(
  db: Kysely<Database>,
  principal: Principal,
  page: PageQuery,
): Promise<Page<ProjectView>> {
  const teams = visibleTeamIds(principal);
  if (teams.length === 0) return { items: [], next_cursor: null };
  let q = db.selectFrom('projects').selectAll().where('team_id', 'in', teams);
  if (principal.kind === 'service_token') q = q.where('id', '=', principal.projectId);
  if (page.cursor) q = q.where('id', '>', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(
    rows,
    page.limit,
    (r) => r.id,
    (r) => ({ id: r.id, name: r.name, team_id: r.team_id, created_at: r.created_at.toISOString() }),
  );
}

export async function listEnvironments(
  db: Kysely<Database>,
  principal: Principal,
  page: PageQuery,
): Promise<Page<EnvironmentView>> {
  const teams = visibleTeamIds(principal);
  if (teams.length === 0) return { items: [], next_cursor: null };
  let q = db.selectFrom('environments').selectAll().where('team_id', 'in', teams);
  if (principal.kind === 'service_token') q = q.where('id', '=', principal.environmentId);
  if (page.cursor) q = q.where('id', '>', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => r.id, environmentView);
}
