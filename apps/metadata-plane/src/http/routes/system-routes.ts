import { sql } from 'kysely';
import { AuditFilterSchema, listAudit } from '../../audit/audit-log.ts';
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
      handler: ({ query }) => listAudit(ctx.db, query, query),
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
