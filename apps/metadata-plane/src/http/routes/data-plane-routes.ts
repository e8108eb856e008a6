import { z } from 'zod';
import type { MetadataPlaneContext } from '../../context.ts';
import {
  listDataPlanes,
  RegisterDataPlaneSchema,
  registerDataPlane,
  reportStatus,
  StatusReportSchema,
  waitForDesiredState,
} from '../../data-planes/data-planes.ts';
import { PageQuerySchema } from '../../pagination.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

/** Long polls stay under common 30 s proxy idle timeouts. */
export const MAX_WAIT_SECONDS = 25;

export function dataPlaneRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-planes/register',
      summary: 'Register a data plane (Bearer = registration token); returns its own long-lived token',
      auth: { kind: 'registration' },
      body: RegisterDataPlaneSchema,
      audit: 'data_plane.register',
      // Registration sends the data plane's public key but no secret; the response holds its token.
      handler: async ({ body, auditTarget }) => {
        auditTarget(body.name);
        return registerDataPlane(ctx.db, ctx.notifier, body);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/data-plane/desired-state',
      summary: 'Long poll: what this data plane should serve, once newer than `since` (or after `wait` s)',
      auth: { kind: 'data_plane' },
      query: z.object({
        since: z.coerce.number().int().nonnegative().optional(),
        wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).default(0),
      }),
      handler: async ({ dataPlane, query, reply }) => {
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        return waitForDesiredState(ctx.db, ctx.notifier, dataPlane.id, {
          since: query.since,
          waitMs: query.wait * 1000,
          signal: AbortSignal.any([gone.signal, ctx.shutdown]),
          now: ctx.now,
        });
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/status',
      summary: 'Report what the data plane loaded (moves deployments to SUCCESS / BOOT_ERRORS)',
      auth: { kind: 'data_plane' },
      body: StatusReportSchema,
      audit: false,
      handler: async ({ dataPlane, body }) => {
        const result = await reportStatus(ctx.db, dataPlane.id, body, ctx.now());
        // A status report proves the data plane alive: it travels on as a heartbeat.
        await ctx.heartbeats.send(dataPlane.id);
        return result;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/heartbeat',
      summary: 'The data plane is alive (queued on the heartbeat queue; freshness drives `healthy`)',
      auth: { kind: 'data_plane' },
      status: 202,
      audit: false,
      handler: async ({ dataPlane }) => {
        await ctx.heartbeats.send(dataPlane.id);
        return { ok: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/data-planes',
      summary: 'Registered data planes, their environments and health (heartbeat freshness)',
      auth: { kind: 'principal', permission: 'infrastructure.read' },
      query: PageQuerySchema,
      handler: ({ query }) => listDataPlanes(ctx.db, ctx.now(), ctx.heartbeatTimeoutMs, query),
    }),
  );
}
