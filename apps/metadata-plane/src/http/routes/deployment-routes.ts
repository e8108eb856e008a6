import { z } from 'zod';
import type { MetadataPlaneContext } from '../../context.ts';
import { getDeploymentRollout } from '../../deployments/deployment-rollout.ts';
import {
  CreateDeploymentSchema,
  createDeployment,
  getDeployment,
  listDeployments,
  redeploy,
} from '../../deployments/deployments.ts';
import { PageQuerySchema } from '../../pagination.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

const IdParams = z.object({ id: z.string().min(1) });

/** Base64 makes the body ~4/3 of the bundle; 50 MB of JSON carries bundles up to ~37 MB. */
export const DEPLOYMENT_BODY_LIMIT = 50 * 1024 * 1024;

export function deploymentRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const deps = { db: ctx.db, objectStore: ctx.objectStore, notifier: ctx.notifier, now: ctx.now };
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/deployments',
      summary: "Deploy a graph + bundle to the token's environment (or body environment_id for users)",
      auth: { kind: 'principal', permission: 'deploy.create' },
      body: CreateDeploymentSchema,
      bodyLimit: DEPLOYMENT_BODY_LIMIT,
      status: 201,
      audit: 'deploy.create',
      handler: async ({ principal, body, auditTarget }) => {
        const created = await createDeployment(deps, principal, body);
        auditTarget(created.id);
        return created;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/deployments',
      summary: 'Deployment history of an environment, newest first',
      auth: { kind: 'principal', permission: 'deploy.read' },
      query: PageQuerySchema.extend({ environment_id: z.string().min(1).optional() }),
      handler: ({ principal, query }) => listDeployments(ctx.db, principal, query.environment_id, query),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/deployments/:id',
      summary: 'One deployment: status, error, graph summary and the whole graph',
      auth: { kind: 'principal', permission: 'deploy.read' },
      params: IdParams,
      handler: ({ principal, params }) => getDeployment(ctx.db, principal, params.id),
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/deployments/:id/rollout',
      summary: "A deployment's status and which instance of its environment's data plane serves it yet",
      auth: { kind: 'principal', permission: 'deploy.read' },
      params: IdParams,
      handler: ({ principal, params }) =>
        getDeploymentRollout(ctx.db, principal, params.id, ctx.now(), ctx.heartbeatTimeoutMs),
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/deployments/:id/redeploy',
      summary: 'Make an earlier deployment the desired one again (rollback)',
      auth: { kind: 'principal', permission: 'deploy.redeploy' },
      params: IdParams,
      audit: 'deploy.redeploy',
      handler: ({ principal, params }) => redeploy(deps, principal, params.id),
    }),
  );
}
