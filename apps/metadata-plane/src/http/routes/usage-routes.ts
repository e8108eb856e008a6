import { z } from 'zod';
import { assertCan } from '../../auth/principal.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { getUsage, recordUsage, UsageQuerySchema, UsageReportSchema } from '../../usage/usage.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

/** Usage metering: data planes report counters, the UI charts them per hour. */
export function usageRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/usage',
      summary: 'A data plane reports usage counters (idempotent by report_id)',
      auth: { kind: 'data_plane' },
      body: UsageReportSchema,
      audit: false,
      handler: ({ dataPlane, body }) => recordUsage(ctx.db, dataPlane.id, body),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/usage',
      summary: 'Hourly usage (queries, rows, resolver compute seconds) of an environment in [from, to)',
      auth: { kind: 'principal', permission: 'billing.read' },
      params: z.object({ id: z.string().min(1) }),
      query: UsageQuerySchema,
      handler: async ({ principal, params, query }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'billing.read', { teamId: env.team_id, environmentId: env.id });
        return getUsage(ctx.db, env.id, new Date(query.from), new Date(query.to));
      },
    }),
  );
}
