import { z } from 'zod';
import type { KeyEncryptionKeyProvider } from '../auth/key-encryption.ts';
import { type Principal, principalLabel } from '../auth/principal.ts';
import { getEnvironmentFor } from '../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../context.ts';
import { defineRoute } from '../http/route.ts';
import type { Router } from '../http/router.ts';
import { alertRequest, sendAlertRequest } from './alert-payloads.ts';
import {
  CreateRouteBodySchema,
  createRoute,
  deleteRoute,
  listRoutes,
  openRouteTarget,
} from './alert-routes.ts';
import { ackIncident, listIncidents } from './incidents.ts';

const EnvParams = z.object({ id: z.string().min(1) });
const IdParams = z.object({ id: z.string().min(1), item: z.string().min(1).max(100) });

/**
 * Incidents (list, acknowledge), alert routes per owner (create: the target written once and never shown
 * back; list; delete; send a test alert) and dead-lettered deliveries of an environment.
 */
export function monitoringRoutes(
  router: Router,
  ctx: MetadataPlaneContext,
  kek: KeyEncryptionKeyProvider,
): void {
  const environment = (
    principal: Principal,
    id: string,
    permission: 'monitoring.read' | 'monitoring.create',
  ) => getEnvironmentFor(ctx.db, principal, id, permission);
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/incidents',
      summary:
        'Incidents opened by alert triggers and drift checks, newest first, with the series that fired',
      auth: { kind: 'principal', permission: 'monitoring.read' },
      params: EnvParams,
      query: z.object({
        status: z.enum(['open', 'resolved']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      handler: async ({ principal, params, query }) => {
        const env = await environment(principal, params.id, 'monitoring.read');
        return { items: await listIncidents(ctx.db, env.id, query) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments/:id/incidents/:item/ack',
      summary: 'Acknowledge an incident: it stays open until its trigger clears',
      auth: { kind: 'principal', permission: 'monitoring.create' },
      params: IdParams,
      audit: 'incident.ack',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.item}`);
        const env = await environment(principal, params.id, 'monitoring.create');
        return ackIncident(ctx.db, env.id, params.item, principalLabel(principal), ctx.now());
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/alert-routes',
      summary: "Alert routes per owner (targets' hosts only: URLs, secrets and routing keys are never shown)",
      auth: { kind: 'principal', permission: 'monitoring.read' },
      params: EnvParams,
      handler: async ({ principal, params }) => {
        const env = await environment(principal, params.id, 'monitoring.read');
        return { items: await listRoutes(ctx.db, env.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments/:id/alert-routes',
      summary: 'Route an owner’s alerts to a webhook, a Slack incoming webhook or PagerDuty (Events v2)',
      auth: { kind: 'principal', permission: 'monitoring.create' },
      params: EnvParams,
      body: CreateRouteBodySchema,
      status: 201,
      audit: 'alert_route.create',
      handler: async ({ principal, params, body }) => {
        const env = await environment(principal, params.id, 'monitoring.create');
        return createRoute(ctx.db, kek, env.id, body, principalLabel(principal), ctx.now());
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/environments/:id/alert-routes/:item',
      summary: 'Delete an alert route',
      auth: { kind: 'principal', permission: 'monitoring.create' },
      params: IdParams,
      audit: 'alert_route.delete',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.item}`);
        const env = await environment(principal, params.id, 'monitoring.create');
        await deleteRoute(ctx.db, env.id, params.item);
        return { deleted: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments/:id/alert-routes/:item/test',
      summary: 'Send a test alert through a route now; answers whether the receiver accepted it',
      auth: { kind: 'principal', permission: 'monitoring.create' },
      params: IdParams,
      audit: 'alert_route.test',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.item}`);
        const env = await environment(principal, params.id, 'monitoring.create');
        const target = await openRouteTarget(ctx.db, kek, env.id, params.item);
        const now = ctx.now().toISOString();
        try {
          await sendAlertRequest(
            alertRequest(
              target,
              {
                event: 'test',
                incidentId: `test-${params.item}`,
                environmentId: env.id,
                check: 'test',
                trigger: 'test alert',
                group: '',
                severity: 'info',
                owner: principalLabel(principal),
                description: 'A test alert sent from Slate: this route works.',
                value: null,
                threshold: 0,
                direction: 'above',
                openedAt: now,
                resolvedAt: null,
                link: `${ctx.apiServer}/environments/${encodeURIComponent(env.id)}/incidents`,
              },
              `test-${Date.now()}`,
            ),
          );
          return { delivered: true };
        } catch (error) {
          return { delivered: false, error: error instanceof Error ? error.message : String(error) };
        }
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/alert-deliveries',
      summary: 'Alert deliveries (the dead letter: `status=dead`, with the last error)',
      auth: { kind: 'principal', permission: 'monitoring.read' },
      params: EnvParams,
      query: z.object({
        status: z.enum(['pending', 'delivered', 'dead']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      handler: async ({ principal, params, query }) => {
        const env = await environment(principal, params.id, 'monitoring.read');
        let select = ctx.db
          .selectFrom('alert_deliveries')
          .innerJoin('incidents', 'incidents.id', 'alert_deliveries.incident_id')
          .select([
            'alert_deliveries.id',
            'alert_deliveries.incident_id',
            'alert_deliveries.route_id',
            'alert_deliveries.event',
            'alert_deliveries.status',
            'alert_deliveries.attempts',
            'alert_deliveries.last_error',
            'alert_deliveries.created_at',
            'alert_deliveries.delivered_at',
          ])
          .where('incidents.environment_id', '=', env.id);
        if (query.status) select = select.where('alert_deliveries.status', '=', query.status);
        const rows = await select.orderBy('alert_deliveries.created_at', 'desc').limit(query.limit).execute();
        return {
          items: rows.map((r) => ({
            ...r,
            created_at: r.created_at.toISOString(),
            delivered_at: r.delivered_at?.toISOString() ?? null,
          })),
        };
      },
    }),
  );
}
