import { sql } from 'kysely';
import { AuditFilterSchema, listAudit } from '../../audit/audit-log.ts';
import { assertCan, type Principal } from '../../auth/principal.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { PageQuerySchema } from '../../pagination.ts';
import { openApiDocument } from '../openapi.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

export function systemRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness and database reachability',
      auth: { kind: 'public' },
      handler: async () => {
        await sql`select 1`.execute(ctx.db);
        return { ok: true, mode: ctx.mode };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/audit-log',
      summary:
        'Audited actions, newest first; filter by action (or prefix.*), principal, target, outcome, from/to, trace_id',
      auth: { kind: 'principal', permission: 'team.admin' },
      query: PageQuerySchema.extend(AuditFilterSchema.shape),
      handler: async ({ principal, query }) => {
        if (query.team_id) assertCan(principal, 'team.admin', { teamId: query.team_id });
        return listAudit(ctx.db, query, query, administeredTeams(principal));
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This API as OpenAPI 3.1',
      auth: { kind: 'principal', permission: 'authenticated' },
      handler: async () => openApiDocument(router.routes, ctx.apiServer),
    }),
  );
}

/** The teams whose audit log `principal` may read (those where it holds `team.admin`). */
function administeredTeams(principal: Principal): string[] {
  if (principal.kind === 'service_token')
    return principal.permissions.has('team.admin') ? [principal.teamId] : [];
  return [...principal.teamPermissions]
    .filter(([, granted]) => granted.has('team.admin'))
    .map(([team]) => team);
}
