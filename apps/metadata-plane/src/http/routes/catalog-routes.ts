import { SlateError } from '@slate/graph';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { describeUser } from '../../auth/users.ts';
import {
  environmentView,
  getEnvironment,
  listEnvironments,
  listProjects,
  listTeams,
} from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { PageQuerySchema } from '../../pagination.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

const IdParams = z.object({ id: z.string().min(1) });
const authenticated = { kind: 'principal', permission: 'authenticated' } as const;

/** A user must belong to the team; a service token sees only its own environment. */
function assertVisible(principal: Principal, env: { id: string; team_id: string }): void {
  const ok =
    principal.kind === 'service_token'
      ? principal.environmentId === env.id
      : principal.memberships.has(env.team_id);
  if (!ok) throw new SlateError('not_allowed', 'PERMISSION_DENIED', `no access to environment ${env.id}`);
}

export function catalogRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/teams',
      summary: 'Teams the caller belongs to',
      auth: authenticated,
      query: PageQuerySchema,
      handler: ({ principal, query }) => listTeams(ctx.db, principal, query),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/projects',
      summary: "Projects of the caller's teams",
      auth: authenticated,
      query: PageQuerySchema,
      handler: ({ principal, query }) => listProjects(ctx.db, principal, query),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments',
      summary: "Environments of the caller's teams (a service token sees its own)",
      auth: authenticated,
      query: PageQuerySchema,
      handler: ({ principal, query }) => listEnvironments(ctx.db, principal, query),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id',
      summary: 'One environment',
      auth: authenticated,
      params: IdParams,
      handler: async ({ principal, params }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertVisible(principal, env);
        return environmentView(env);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/who-am-i',
      summary: 'The caller: principal id, environment and team',
      auth: authenticated,
      handler: async ({ principal }) => {
        if (principal.kind === 'service_token') {
          return { user: principal.id, environment_id: principal.environmentId, team_id: principal.teamId };
        }
        let teamId: string | null = null;
        if (principal.environmentId) teamId = (await getEnvironment(ctx.db, principal.environmentId)).team_id;
        else if (principal.memberships.size === 1) teamId = [...principal.memberships.keys()][0] ?? null;
        return { user: principal.id, environment_id: principal.environmentId, team_id: teamId };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/me',
      summary: 'The logged-in user and their teams',
      auth: authenticated,
      handler: async ({ principal }) => {
        if (principal.kind !== 'user') {
          throw new SlateError(
            'not_allowed',
            'USER_REQUIRED',
            '/v1/me describes users; service tokens use /v1/who-am-i',
          );
        }
        return describeUser(ctx.db, principal);
      },
    }),
  );
}
