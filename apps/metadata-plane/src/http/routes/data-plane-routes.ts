import { z } from 'zod';
import type { MetadataPlaneContext } from '../../context.ts';
import {
  listDataPlanes,
  RegisterDataPlaneSchema,
  recordInstanceStatus,
  registerDataPlane,
} from '../../data-planes/data-plane-instances.ts';
import { claimLease, LeaseRequestSchema, releaseLease } from '../../data-planes/data-plane-leases.ts';
import { reportStatus, StatusReportSchema, waitForDesiredState } from '../../data-planes/data-planes.ts';
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
      summary:
        "Register an instance of a data plane (Bearer = registration token); returns the instance's own long-lived token",
      auth: { kind: 'registration' },
      body: RegisterDataPlaneSchema,
      audit: 'data_plane.register',
      // Registration sends the data plane's public key but no secret; the response holds its token.
      handler: async ({ body, auditTarget }) => {
        auditTarget(body.name);
        return registerDataPlane(ctx.db, ctx.notifier, body, {
          now: ctx.now(),
          heartbeatTimeoutMs: ctx.heartbeatTimeoutMs,
        });
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
        await recordInstanceStatus(ctx.db, dataPlane, body);
        // A status report proves the instance alive: it travels on as a heartbeat.
        await ctx.heartbeats.send(dataPlane.id, dataPlane.instance_id);
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
        await ctx.heartbeats.send(dataPlane.id, dataPlane.instance_id);
        return { ok: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/leases/claim',
      summary:
        'Claim or renew the lease on a job for this instance (granted: it runs the job; else another instance holds it)',
      auth: { kind: 'data_plane' },
      body: LeaseRequestSchema,
      audit: false,
      handler: ({ dataPlane, body }) => claimLease(ctx.db, dataPlane, body, ctx.now()),
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/leases/release',
      summary: 'Give up the lease on a finished job (only its holder can)',
      auth: { kind: 'data_plane' },
      body: LeaseRequestSchema.pick({ key: true }),
      audit: false,
      handler: ({ dataPlane, body }) => releaseLease(ctx.db, dataPlane, body.key),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/data-planes',
      summary:
        "Registered data planes, their environments, and each instance's health (heartbeat, roles, version, deployments)",
      auth: { kind: 'principal', permission: 'infrastructure.read' },
      query: PageQuerySchema,
      handler: ({ query }) => listDataPlanes(ctx.db, ctx.now(), ctx.heartbeatTimeoutMs, query),
    }),
  );
}
