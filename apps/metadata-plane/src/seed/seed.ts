import { SlateError } from '@slate/graph';
import { type Kysely, sql } from 'kysely';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RoleSchema } from '../auth/permissions.ts';
import type { Database } from '../db/schema.ts';

const SHORT_ID = /^[a-z0-9]{1,9}$/;
const shortId = z
  .string()
  .regex(
    SHORT_ID,
    'must be lowercase letters and digits only, 1 to 9 characters (no spaces or special characters)',
  );

/** The seed document of the installation guide (`chalk.metadata.seed`). */
export const SeedSchema = z.object({
  teams: z.array(z.object({ id: shortId, name: z.string().min(1) })).default([]),
  projects: z.array(z.object({ id: shortId, name: z.string().min(1), team_id: z.string() })).default([]),
  environments: z
    .array(z.object({ id: shortId, name: z.string().min(1), project_id: z.string(), team_id: z.string() }))
    .default([]),
  team_invites: z
    .array(z.object({ id: z.string().min(1), team: z.string(), email: z.email(), role: RoleSchema }))
    .default([]),
});
export type Seed = z.output<typeof SeedSchema>;
export type SeedInput = z.input<typeof SeedSchema>;

export interface SeedIssue {
  /** Where the problem is, relative to the seed root: `teams[0].id`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Parses seed YAML (or an already-parsed object). The seed may sit at `chalk.metadata.seed`,
 * `slate.metadata.seed`, or be the bare `{teams, projects, environments, team_invites}` document.
 * Every problem is reported at once, with its path; references between entries are checked too.
 *
 * @throws SlateError('input', 'INVALID_SEED', …, { issues: SeedIssue[] })
 * @example
 * const seed = parseSeed('teams: [{id: acme, name: Acme}]');
 */
export function parseSeed(source: string | unknown): Seed {
  let document: unknown = source;
  if (typeof source === 'string') {
    try {
      document = parseYaml(source);
    } catch (error) {
      throw invalid([{ path: '', message: `not valid YAML: ${(error as Error).message}` }]);
    }
  }
  const root = locateSeed(document);
  const result = SeedSchema.safeParse(root);
  if (!result.success) {
    throw invalid(
      result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  const issues = referenceIssues(result.data);
  if (issues.length > 0) throw invalid(issues);
  return result.data;
}

function locateSeed(document: unknown): unknown {
  for (const top of ['chalk', 'slate']) {
    const seed = child(child(child(document, top), 'metadata'), 'seed');
    if (seed !== undefined) return seed;
  }
  return document ?? {};
}

function child(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

/** `['teams', 0, 'id']` → `teams[0].id`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function referenceIssues(seed: Seed): SeedIssue[] {
  const issues: SeedIssue[] = [];
  const duplicates = (list: readonly { id: string }[], name: string) => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (seen.has(item.id)) issues.push({ path: `${name}[${i}].id`, message: `duplicate id "${item.id}"` });
      seen.add(item.id);
    });
  };
  duplicates(seed.teams, 'teams');
  duplicates(seed.projects, 'projects');
  duplicates(seed.environments, 'environments');
  duplicates(seed.team_invites, 'team_invites');

  const teams = new Set(seed.teams.map((t) => t.id));
  const projectTeam = new Map(seed.projects.map((p) => [p.id, p.team_id]));
  seed.projects.forEach((p, i) => {
    if (!teams.has(p.team_id))
      issues.push({ path: `projects[${i}].team_id`, message: `unknown team "${p.team_id}"` });
  });
  seed.environments.forEach((e, i) => {
    if (!teams.has(e.team_id))
      issues.push({ path: `environments[${i}].team_id`, message: `unknown team "${e.team_id}"` });
    const owner = projectTeam.get(e.project_id);
    if (owner === undefined) {
      issues.push({ path: `environments[${i}].project_id`, message: `unknown project "${e.project_id}"` });
    } else if (owner !== e.team_id) {
      issues.push({
        path: `environments[${i}].team_id`,
        message: `project "${e.project_id}" belongs to team "${owner}", not "${e.team_id}"`,
      });
    }
  });
  seed.team_invites.forEach((inv, i) => {
    if (!teams.has(inv.team))
      issues.push({ path: `team_invites[${i}].team`, message: `unknown team "${inv.team}"` });
  });
  return issues;
}

function invalid(issues: SeedIssue[]): SlateError {
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new SlateError('input', 'INVALID_SEED', `invalid seed: ${summary}`, { issues });
}

/** What `applySeed` changed, per table (rows inserted or updated). */
export interface SeedResult {
  readonly teams: number;
  readonly projects: number;
  readonly environments: number;
  readonly teamInvites: number;
}

/**
 * Upserts the seed's teams, projects, environments and invites in one transaction. Idempotent: a row is
 * written only when it is new or a seeded field differs, so applying the same seed again changes nothing
 * (not even `created_at`). Fields the seed does not own (an environment's data plane or deployments, an
 * invite's acceptance) are never touched. Nothing is deleted.
 *
 * @example
 * await applySeed(db, parseSeed(yamlText));
 */
export async function applySeed(db: Kysely<Database>, seed: Seed): Promise<SeedResult> {
  return db.transaction().execute(async (trx) => {
    let teams = 0;
    let projects = 0;
    let environments = 0;
    let teamInvites = 0;
    for (const t of seed.teams) {
      const r = await trx
        .insertInto('teams')
        .values({ id: t.id, name: t.name })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ name: (eb) => eb.ref('excluded.name') })
            .where('teams.name', 'is distinct from', (eb) => eb.ref('excluded.name')),
        )
        .executeTakeFirst();
      teams += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    for (const p of seed.projects) {
      const r = await trx
        .insertInto('projects')
        .values({ id: p.id, name: p.name, team_id: p.team_id })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({
              name: (eb) => eb.ref('excluded.name'),
              team_id: (eb) => eb.ref('excluded.team_id'),
            })
            .where(
              sql<boolean>`(projects.name, projects.team_id) is distinct from (excluded.name, excluded.team_id)`,
            ),
        )
        .executeTakeFirst();
      projects += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    for (const e of seed.environments) {
      const r = await trx
        .insertInto('environments')
        .values({ id: e.id, name: e.name, project_id: e.project_id, team_id: e.team_id })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({
              name: (eb) => eb.ref('excluded.name'),
              project_id: (eb) => eb.ref('excluded.project_id'),
              team_id: (eb) => eb.ref('excluded.team_id'),
            })
            .where(
              sql<boolean>`(environments.name, environments.project_id, environments.team_id) is distinct from (excluded.name, excluded.project_id, excluded.team_id)`,
            ),
        )
        .executeTakeFirst();
      environments += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    for (const inv of seed.team_invites) {
      const email = inv.email.toLowerCase();
      const r = await trx
        .insertInto('team_invites')
        .values({ id: inv.id, team_id: inv.team, email, role: inv.role })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({
              team_id: (eb) => eb.ref('excluded.team_id'),
              email: (eb) => eb.ref('excluded.email'),
              role: (eb) => eb.ref('excluded.role'),
            })
            // An accepted invite is history: editing it would not change the membership it created.
            .where('team_invites.accepted_at', 'is', null)
            .where(
              sql<boolean>`(team_invites.team_id, team_invites.email, team_invites.role) is distinct from (excluded.team_id, excluded.email, excluded.role)`,
            ),
        )
        .executeTakeFirst();
      teamInvites += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    return { teams, projects, environments, teamInvites };
  });
}
