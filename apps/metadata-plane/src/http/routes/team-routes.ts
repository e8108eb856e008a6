import { SlateError } from '@slate/graph';
import { z } from 'zod';
import type { Permission } from '../../auth/permissions.ts';
import { assertCan } from '../../auth/principal.ts';
import { environmentView, getEnvironment } from '../../catalog/catalog.ts';
import {
  CreateEnvironmentSchema,
  CreateProjectSchema,
  CreateTeamSchema,
  createEnvironment,
  createProject,
  createTeam,
  getProject,
  getTeam,
  RenameSchema,
  renameCatalogEntry,
} from '../../catalog/catalog-admin.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { bumpEnvironmentRevision, bumpRevision } from '../../data-planes/data-planes.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';
import { memberRoutes } from './member-routes.ts';

const IdParams = z.object({ id: z.string().min(1) });
const _MemberParams = z.object({ id: z.string().min(1), userId: z.string().min(1) });

/** Teams, projects and environments (creation, renaming), members, environment roles, invites and custom roles. */
export function teamRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const { db } = ctx;
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/teams',
      summary: 'Create a team; the calling user becomes its owner',
      auth: { kind: 'principal', permission: 'team.admin' },
      body: CreateTeamSchema,
      status: 201,
      audit: 'team.create',
      handler: async ({ principal, body, auditTarget, auditTeam }) => {
        if (principal.kind !== 'user') {
          throw new SlateError(
            'not_allowed',
            'USER_REQUIRED',
            'teams are created by users, not service tokens',
          );
        }
        const team = await createTeam(db, principal, body);
        auditTarget(team.id);
        auditTeam(team.id);
        return team;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/projects',
      summary: 'Create a project in a team',
      auth: { kind: 'principal', permission: 'project.create' },
      body: CreateProjectSchema,
      status: 201,
      audit: 'project.create',
      handler: async ({ principal, body, auditTarget }) => {
        await getTeam(db, body.team_id);
        assertCan(principal, 'project.create', { teamId: body.team_id });
        const project = await createProject(db, body);
        auditTarget(project.id);
        return project;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments',
      summary: 'Create an environment; it is assigned to a data plane, which provisions it',
      auth: { kind: 'principal', permission: 'environment.create' },
      body: CreateEnvironmentSchema,
      status: 201,
      audit: 'environment.create',
      handler: async ({ principal, body, auditTarget }) => {
        const project = await getProject(db, body.project_id);
        assertCan(principal, 'environment.create', { teamId: project.team_id });
        const env = await createEnvironment(db, project, body);
        auditTarget(env.id);
        if (env.data_plane_id) await bumpRevision(db, ctx.notifier, env.data_plane_id);
        return environmentView(env);
      },
    }),
  );

  const renameRoute = <T extends { readonly id: string }>(spec: {
    readonly table: 'teams' | 'projects' | 'environments';
    readonly url: string;
    readonly summary: string;
    readonly permission: Permission;
    readonly audit: string;
    readonly load: (id: string) => Promise<T>;
    readonly teamOf: (entry: T) => string;
    /** The answer, once renamed (and whatever the rename must reach beyond the catalog). */
    readonly renamed: (entry: T, name: string) => Promise<unknown>;
  }) =>
    defineRoute({
      method: 'PUT',
      url: spec.url,
      summary: spec.summary,
      auth: { kind: 'principal', permission: spec.permission },
      params: IdParams,
      body: RenameSchema,
      audit: spec.audit,
      handler: async ({ principal, params, body }) => {
        const entry = await spec.load(params.id);
        assertCan(principal, spec.permission, { teamId: spec.teamOf(entry) });
        await renameCatalogEntry(db, spec.table, entry.id, body.name);
        return spec.renamed(entry, body.name);
      },
    });
  router.add(
    renameRoute({
      table: 'teams',
      url: '/v1/teams/:id',
      summary: 'Rename a team (its id stays)',
      permission: 'team.admin',
      audit: 'team.rename',
      load: (id) => getTeam(db, id),
      teamOf: (team) => team.id,
      renamed: async (team) => {
        const renamed = await getTeam(db, team.id);
        return { id: renamed.id, name: renamed.name, created_at: renamed.created_at.toISOString() };
      },
    }),
  );
  router.add(
    renameRoute({
      table: 'projects',
      url: '/v1/projects/:id',
      summary: 'Rename a project (its id stays)',
      permission: 'project.create',
      audit: 'project.rename',
      load: (id) => getProject(db, id),
      teamOf: (project) => project.team_id,
      renamed: async (project, name) => ({
        id: project.id,
        name,
        team_id: project.team_id,
        created_at: project.created_at.toISOString(),
      }),
    }),
  );
  router.add(
    renameRoute({
      table: 'environments',
      url: '/v1/environments/:id',
      summary: 'Rename an environment (its id, and so its data-plane namespace, stays)',
      permission: 'environment.create',
      audit: 'environment.rename',
      load: (id) => getEnvironment(db, id),
      teamOf: (env) => env.team_id,
      renamed: async (env) => {
        // The name travels in the data plane's desired state (token answers name the environment).
        await bumpEnvironmentRevision(db, ctx.notifier, env.id);
        return environmentView(await getEnvironment(db, env.id));
      },
    }),
  );
  memberRoutes(router, ctx);
}
