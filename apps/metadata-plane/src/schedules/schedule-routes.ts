import { z } from 'zod';
import { assertCan } from '../auth/principal.ts';
import { getEnvironment } from '../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../context.ts';
import type { DataPlaneIdentity } from '../data-planes/data-plane-instances.ts';
import { defineRoute } from '../http/route.ts';
import type { Router } from '../http/router.ts';
import {
  AckRequestSchema,
  LeaseRequestSchema,
  leaseDeliveries,
  listFires,
  settleDeliveries,
} from './schedule-deliveries.ts';
import { controlSchedule, listSchedules, ScheduleKindSchema, type ScheduleState } from './schedules.ts';
import { triggerWakeKey } from './trigger-dispatch.ts';

/** A trigger lease belongs to the instance that took it (the data plane itself for pre-instance secrets). */
const leaseHolder = (dataPlane: DataPlaneIdentity) =>
  dataPlane.instance_id === null ? dataPlane.id : `${dataPlane.id}/${dataPlane.instance_id}`;

const ScheduleParams = z.object({
  id: z.string().min(1),
  kind: ScheduleKindSchema,
  name: z.string().min(1).max(300),
});

/** How often a trigger long poll re-reads without an in-process wake-up (deliveries stored by other replicas). */
const TRIGGER_POLL_MS = 1_000;

/**
 * Schedules of an environment (Chalk's `GetActiveScheduledResolvers`, `UpdateScheduledResolverControl`) and
 * the data plane's side of trigger delivery: lease, then acknowledge.
 */
export function scheduleRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/schedules',
      summary:
        "The environment's cron resolvers and scheduled queries: schedule, PLAY/PAUSE, next and last fire",
      auth: { kind: 'principal', permission: 'cron.read' },
      params: z.object({ id: z.string().min(1) }),
      handler: async ({ principal, params }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'cron.read', { teamId: env.team_id, environmentId: env.id });
        return { items: await listSchedules(ctx.db, env.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/schedules/:kind/:name/fires',
      summary: "A schedule's fires, newest first: delivery to the data plane and the run's or query's status",
      auth: { kind: 'principal', permission: 'cron.read' },
      params: ScheduleParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      handler: async ({ principal, params, query }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'cron.read', { teamId: env.team_id, environmentId: env.id });
        return {
          items: await listFires(
            ctx.db,
            { environmentId: env.id, kind: params.kind, name: params.name },
            query.limit,
          ),
        };
      },
    }),
  );
  const control = (state: ScheduleState, verb: 'pause' | 'resume') =>
    defineRoute({
      method: 'POST',
      url: `/v1/environments/:id/schedules/:kind/:name/${verb}`,
      summary:
        verb === 'pause'
          ? 'Pause a schedule (PAUSE): it fires nothing until resumed'
          : 'Resume a schedule (PLAY): it fires from the next due time; the paused period is not replayed',
      auth: { kind: 'principal', permission: 'cron.create' },
      params: ScheduleParams,
      audit: `schedule.${verb}`,
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.kind}/${params.name}`);
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'cron.create', { teamId: env.team_id, environmentId: env.id });
        return controlSchedule(
          ctx.db,
          { environmentId: env.id, kind: params.kind, name: params.name },
          state,
          ctx.now(),
        );
      },
    });
  router.add(control('PAUSE', 'pause'));
  router.add(control('PLAY', 'resume'));

  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/triggers/lease',
      summary:
        'Long poll: lease scheduled triggers of the environments this data plane serves (acknowledge each after starting it)',
      auth: { kind: 'data_plane' },
      body: LeaseRequestSchema,
      audit: false,
      handler: async ({ dataPlane, body, reply }) => {
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        const signal = AbortSignal.any([gone.signal, ctx.shutdown]);
        const deadline = Date.now() + body.wait * 1000;
        for (;;) {
          const items = await leaseDeliveries(
            ctx.db,
            dataPlane.id,
            body.max,
            ctx.now(),
            leaseHolder(dataPlane),
          );
          const remaining = deadline - Date.now();
          if (items.length > 0 || remaining <= 0 || signal.aborted) return { items };
          await ctx.notifier.wait(triggerWakeKey(dataPlane.id), Math.min(remaining, TRIGGER_POLL_MS), signal);
        }
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/data-plane/triggers/ack',
      summary:
        'Settle leased triggers: started (with the run or query id), or refused (retried, then given up)',
      auth: { kind: 'data_plane' },
      body: AckRequestSchema,
      audit: false,
      handler: ({ dataPlane, body }) =>
        settleDeliveries(ctx.db, leaseHolder(dataPlane), body.acks, ctx.now()),
    }),
  );
}
