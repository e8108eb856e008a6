import { MetricReportSchema } from '@slate/graph';
import { z } from 'zod';
import { assertCan } from '../../auth/principal.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { createMetricStore, SeriesQuerySchema } from '../../metrics/metric-store.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

/** Metric rollups: data planes report closed minutes; charts, the CLI and alert checks read series. */
export function metricRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const store = createMetricStore(ctx.db, { now: () => ctx.now().getTime() });
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/metrics',
      summary:
        'A data plane reports per-minute metric rollups (each point counted once per source and minute)',
      auth: { kind: 'data_plane' },
      body: MetricReportSchema,
      // 5,000 points with latency sketches.
      bodyLimit: 16 * 1024 * 1024,
      audit: false,
      handler: ({ dataPlane, body }) => store.record(dataPlane.id, body),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/metrics/series',
      summary:
        'A metric of an environment over time: windowed, aggregated, filtered by and grouped by series name',
      auth: { kind: 'principal', permission: 'monitoring.read' },
      params: z.object({ id: z.string().min(1) }),
      query: SeriesQuerySchema,
      handler: async ({ principal, params, query }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'monitoring.read', { teamId: env.team_id, environmentId: env.id });
        return store.querySeries(env.id, query);
      },
    }),
  );
}
