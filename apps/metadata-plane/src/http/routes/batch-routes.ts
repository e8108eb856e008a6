import { z } from 'zod';
import { assertCan } from '../../auth/principal.ts';
import { BatchStatusSchema, listBatchJobs } from '../../batch/batch-jobs.ts';
import { BatchReportSchema, getBatchJob } from '../../batch/batch-reports.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { PageQuerySchema } from '../../pagination.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

/**
 * Long-running work on data planes: they report its status over the `batch-status` queue and a final
 * report over `batch-report` when it ends; the UI lists the jobs and shows each one's report.
 */
export function batchRoutes(router: Router, ctx: MetadataPlaneContext): void {
  // Data planes report a running job every few seconds: one quiet for the heartbeat timeout is shown lost.
  const liveness = () => ({ now: ctx.now(), staleAfterMs: ctx.heartbeatTimeoutMs });
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/batch-status',
      summary: 'A data plane reports the status of an offline query or a run (queued on batch-status)',
      auth: { kind: 'data_plane' },
      body: BatchStatusSchema,
      status: 202,
      audit: false,
      handler: async ({ dataPlane, body }) => {
        await ctx.batchStatus.send({ ...body, data_plane_id: dataPlane.id });
        return { ok: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/batch-report',
      summary:
        'A data plane sends the final report of a finished offline query or run (queued on batch-report)',
      auth: { kind: 'data_plane' },
      body: BatchReportSchema,
      status: 202,
      audit: false,
      handler: async ({ dataPlane, body }) => {
        await ctx.batchReports.send({ ...body, data_plane_id: dataPlane.id });
        return { ok: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/jobs',
      summary:
        "An environment's offline queries and runs with their latest status, most recently updated first",
      auth: { kind: 'principal', permission: 'deploy.read' },
      params: z.object({ id: z.string().min(1) }),
      query: PageQuerySchema,
      handler: async ({ principal, params, query }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'deploy.read', { teamId: env.team_id, environmentId: env.id });
        return listBatchJobs(ctx.db, env.id, query, liveness());
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/jobs/:operation_id',
      summary: 'One offline query or run of an environment with its latest status and final report',
      auth: { kind: 'principal', permission: 'deploy.read' },
      params: z.object({ id: z.string().min(1), operation_id: z.string().min(1).max(200) }),
      handler: async ({ principal, params }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'deploy.read', { teamId: env.team_id, environmentId: env.id });
        return getBatchJob(ctx.db, env.id, params.operation_id, liveness());
      },
    }),
  );
}
