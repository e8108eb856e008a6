import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { SlateError } from '@slate/graph';
import { installEdge, toHttpError } from '@slate/http-edge';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { recordAudit } from '../audit/audit-log.ts';
import { principalLabel } from '../auth/principal.ts';
import type { MetadataPlaneContext } from '../context.ts';
import { type ForwardingOptions, mountForwardedRoutes } from '../forwarding/forwarded-routes.ts';
import { monitoringRoutes } from '../monitoring/monitoring-routes.ts';
import { scheduleRoutes } from '../schedules/schedule-routes.ts';
import type { SlateRouteConfig } from './route.ts';
import { createRouter, type Router } from './router.ts';
import { localLoginRoutes, logoutRoutes, oidcRoutes } from './routes/auth-routes.ts';
import { batchRoutes } from './routes/batch-routes.ts';
import { catalogRoutes } from './routes/catalog-routes.ts';
import { dataPlaneRoutes } from './routes/data-plane-routes.ts';
import { deploymentRoutes } from './routes/deployment-routes.ts';
import { deviceRoutes } from './routes/device-routes.ts';
import { metricRoutes } from './routes/metric-routes.ts';
import { modelRoutes } from './routes/model-routes.ts';
import { secretRoutes } from './routes/secret-routes.ts';
import { systemRoutes } from './routes/system-routes.ts';
import { teamRoutes } from './routes/team-routes.ts';
import { tokenRoutes } from './routes/token-routes.ts';
import { usageRoutes } from './routes/usage-routes.ts';

export interface HttpAppOptions {
  /** Receives the router once every route is mounted (tests walk its route table). */
  readonly onRoutes?: (router: Router) => void;
  readonly logger: Logger;
  /** A built web UI to serve at `/` (SPA: unknown non-API paths get `index.html`). */
  readonly webRoot?: string;
  /** Believe `X-Forwarded-For` (only behind a proxy that sets it; otherwise callers could spoof audit IPs). */
  readonly trustProxy?: boolean;
  /** Limits of the data-plane routes the API host forwards (`/v1/query/*`, uploads, runs, offline queries). */
  readonly forwarding?: ForwardingOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds the fastify app (not listening). */
export async function buildHttpApp(
  ctx: MetadataPlaneContext,
  options: HttpAppOptions,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // A caller-supplied id (when sane) ties our logs to theirs; otherwise a fresh one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    // At shutdown, cut what is still open (data planes' long polls, idle keep-alives): they all retry.
    forceCloseConnections: true,
    // Fastify's 10 s for every plugin to register is wall time: a CPU-throttled pod or a loaded machine
    // (seen: load 37 on 2 cores, '@fastify/cookie' timed out while PGlite started) exceeds it on a sound start.
    pluginTimeout: 60_000,
  });
  app.decorateRequest('slatePrincipal', null);
  app.decorateRequest('slateAuditTarget', null);
  app.decorateRequest('slateDataPlaneId', null);
  app.decorateRequest('slateAuditTeam', null);
  app.decorateRequest('slateAuditSkip', false);
  app.decorateRequest('slateAuditPrincipal', null);
  await app.register(fastifyCookie);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  // Model artifact parts (`PUT /v1/environments/:id/model-parts/:sha256`): raw bytes, bounded by the route's bodyLimit.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => {
    done(null, body);
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // One error mapper, NUL refusal and security headers, shared with the data plane.
  installEdge(app, { errorOptions: (request) => ({ chalkWire: routeConfig(request).chalkWire }) });

  app.addHook('onResponse', async (request, reply) => {
    const action = routeConfig(request).audit;
    if (!action || request.slateAuditSkip) return;
    const params = request.params as Record<string, unknown> | undefined;
    const target = request.slateAuditTarget ?? (typeof params?.id === 'string' ? params.id : null);
    try {
      await recordAudit(
        ctx.db,
        {
          principal: request.slateDataPlaneId
            ? `data_plane:${request.slateDataPlaneId}`
            : (request.slateAuditPrincipal ?? principalLabel(request.slatePrincipal)),
          action,
          target,
          ip: request.ip,
          outcome: reply.statusCode < 400 ? 'success' : `failure:${reply.statusCode}`,
          traceId: request.id,
          teamId:
            request.slateAuditTeam ??
            (request.slatePrincipal?.kind === 'service_token' ? request.slatePrincipal.teamId : null),
        },
        ctx.now(),
      );
    } catch (error) {
      request.log.error({ err: error }, 'could not write the audit log');
    }
  });

  const router = createRouter(app, ctx);
  systemRoutes(router, ctx);
  tokenRoutes(router, ctx);
  catalogRoutes(router, ctx);
  deploymentRoutes(router, ctx);
  dataPlaneRoutes(router, ctx);
  teamRoutes(router, ctx);
  secretRoutes(router, ctx);
  usageRoutes(router, ctx);
  metricRoutes(router, ctx);
  batchRoutes(router, ctx);
  scheduleRoutes(router, ctx);
  monitoringRoutes(router, ctx, ctx.keyEncryption);
  modelRoutes(router, ctx);
  logoutRoutes(router, ctx);
  oidcRoutes(router, ctx);
  deviceRoutes(router, ctx);
  if (ctx.mode === 'embedded') localLoginRoutes(router, ctx);
  options.onRoutes?.(router);
  const forwarding = await mountForwardedRoutes(app, ctx, options.forwarding);
  app.addHook('onClose', async () => forwarding.close());

  if (options.webRoot) {
    await app.register(fastifyStatic, { root: options.webRoot, wildcard: false });
  }
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const isApi = path.startsWith('/v1/') || path === '/v1' || path.startsWith('/.well-known/');
    if (options.webRoot && request.method === 'GET' && !isApi) return reply.sendFile('index.html');
    const { status, body } = toHttpError(
      new SlateError('not_found', 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`),
    );
    return reply.code(status).send(body);
  });
  return app;
}

function routeConfig(request: FastifyRequest): SlateRouteConfig {
  return (request.routeOptions?.config ?? {}) as SlateRouteConfig;
}
