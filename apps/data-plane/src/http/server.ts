import { httpStatusOf, SlateError } from '@slate/graph';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { runFeatherQueries } from './feather-query.ts';
import { OnlineQueryRequestSchema, runOnlineQuery } from './online-query.ts';
import { readQueryHeaders } from './query-headers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface DataPlaneServerOptions {
  readonly served: ServedEnvironments;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Resolves when the first deployment state has been applied. */
  readonly isReady: () => boolean;
  /** Largest accepted request body in bytes (default 10 MiB). */
  readonly bodyLimit?: number;
}

const publicRoutes = new Set(['/healthz', '/readyz']);

/**
 * The data plane's HTTP API. Every route but the health probes needs a bearer token issued by the
 * metadata plane for the environment being queried; errors leave in the seed product's shapes, with
 * statuses decided in `sendError` alone.
 */
export function createDataPlaneServer(options: DataPlaneServerOptions): FastifyInstance {
  const { served, verifier } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    genReqId: () => crypto.randomUUID(),
  });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new SlateError('not_found', 'NOT_FOUND', `no route ${request.method} ${request.url}`),
      request,
      reply,
    ),
  );

  app.addHook('onRequest', async (request) => {
    if (publicRoutes.has(request.routeOptions.url ?? '')) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token)
      throw new SlateError('authentication', 'UNAUTHENTICATED', 'an Authorization: Bearer token is required');
    request.principal = await verifier.verify(token);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const environments = served
      .list()
      .map((env) => ({ id: env.id, deployment_id: env.deployment?.id ?? null }));
    const ready = options.isReady() && environments.every((env) => env.deployment_id !== null);
    return reply.code(ready ? 200 : 503).send({ ready, environments });
  });

  app.get('/v1/who-am-i', async (request) => {
    const principal = request.principal!;
    return {
      user: principal.subject,
      environment_id: principal.environment,
      team_id: principal.team ?? null,
    };
  });

  app.post('/v1/query/online', async (request) => {
    const principal = request.principal!;
    requirePermission(principal, 'query.online');
    const environment = environmentOf(request, principal, served);
    const headers = readQueryHeaders(request.headers, Date.now());
    const body = OnlineQueryRequestSchema.parse(request.body);
    if (body.branch_id) throw branchError(body.branch_id);
    const answer = await served.withEngine(environment.id, (deployment) =>
      runOnlineQuery(body, {
        environment,
        deploymentId: deployment.id,
        engine: deployment.engine,
        deadline: headers.deadline,
        queryName: headers.queryName,
      }),
    );
    if (!answer) throw noDeployment(environment.id);
    request.log.info(
      {
        query_id: answer.queryId,
        correlation_id: body.correlation_id ?? null,
        environment: environment.id,
        errors: answer.response.errors.length,
      },
      'online query',
    );
    return answer.response;
  });

  // Binary endpoints take the raw body whatever its declared type (clients send octet-stream or nothing).
  app.register(async (binary) => {
    binary.removeAllContentTypeParsers();
    binary.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    binary.post('/v1/query/feather', async (request, reply) => {
      const principal = request.principal!;
      requirePermission(principal, 'query.online');
      const environment = environmentOf(request, principal, served);
      const headers = readQueryHeaders(request.headers, Date.now());
      const body = request.body;
      if (!(body instanceof Uint8Array) || body.length === 0)
        throw new SlateError('input', 'PARSE_FAILED', 'the feather request body is empty');
      const answer = await served.withEngine(environment.id, (deployment) =>
        runFeatherQueries(body, {
          environment,
          deploymentId: deployment.id,
          engine: deployment.engine,
          deadline: headers.deadline,
          queryName: headers.queryName,
        }),
      );
      if (!answer) throw noDeployment(environment.id);
      for (const outcome of answer.outcomes) {
        request.log.info(
          {
            query_id: outcome.queryId,
            correlation_id: outcome.correlationId,
            environment: environment.id,
            rows: outcome.rows,
            errors: outcome.result.errors.length,
          },
          'feather query',
        );
      }
      return reply.type('application/octet-stream').send(answer.body);
    });
  });

  return app;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function branchError(branch: string): SlateError {
  return new SlateError(
    'input',
    'INVALID_QUERY',
    `branch deployments are not available on this data plane yet (branch '${branch}')`,
  );
}

function noDeployment(environmentId: string): SlateError {
  return new SlateError(
    'unavailable',
    'NO_ACTIVE_DEPLOYMENT',
    `environment ${environmentId} has no active deployment yet`,
  );
}

function requirePermission(principal: Principal, permission: string): void {
  if (!principal.permissions.includes(permission)) {
    throw new SlateError('not_allowed', 'UNAUTHORIZED', `this token lacks the '${permission}' permission`);
  }
}

/** The environment a request addresses: its token's, which `X-Chalk-Env-Id` may name but never change. */
function environmentOf(request: FastifyRequest, principal: Principal, served: ServedEnvironments) {
  const asked = headerValue(request, 'x-chalk-env-id');
  const environment = served.get(principal.environment);
  if (asked && asked !== principal.environment && asked !== environment?.name) {
    throw new SlateError(
      'not_allowed',
      'UNAUTHORIZED',
      `this token is scoped to environment ${principal.environment}, not ${asked}`,
    );
  }
  if (!environment)
    throw new SlateError(
      'not_found',
      'ENVIRONMENT_NOT_FOUND',
      `environment ${principal.environment} is not served here`,
    );
  return environment;
}

/** The one mapping from errors to HTTP statuses and bodies on the data plane. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const slate = toSlateError(error, request);
  const status = slate.code === 'BODY_TOO_LARGE' ? 413 : httpStatusOf(slate.kind);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const body: Record<string, unknown> = {
    detail: slate.message,
    message: slate.message,
    trace: null,
    code: slate.code,
  };
  if (slate.details?.issues) body.issues = slate.details.issues;
  if (request.url.startsWith('/v1/query/') && slate.kind === 'input') {
    body.errors = [{ code: slate.code, category: 'REQUEST', message: slate.message }];
  }
  return reply.code(status).send(body);
}

function toSlateError(error: unknown, request: FastifyRequest): SlateError {
  if (error instanceof SlateError) return error;
  const isQuery = request.url.startsWith('/v1/query/');
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const summary = issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; ');
    return new SlateError(
      'input',
      isQuery ? 'INVALID_QUERY' : 'INVALID_REQUEST',
      `invalid request: ${summary}`,
      { issues },
    );
  }
  const code = (error as { code?: string }).code;
  if (
    code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400)
  ) {
    return new SlateError(
      'input',
      'PARSE_FAILED',
      `the request body is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new SlateError('input', 'BODY_TOO_LARGE', 'the request body is too large');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new SlateError('input', 'PARSE_FAILED', 'send the request as application/json');
  const statusCode = (error as { statusCode?: number }).statusCode;
  if (statusCode && statusCode >= 400 && statusCode < 500) {
    return new SlateError('input', isQuery ? 'PARSE_FAILED' : 'INVALID_REQUEST', (error as Error).message);
  }
  return new SlateError('internal', 'INTERNAL_SERVER_ERROR', 'internal error');
}
