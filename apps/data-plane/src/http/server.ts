import type { EngineResult } from '@slate/engine';
import { SlateError } from '@slate/graph';
import { installEdge, LOG_REDACTION, type StackTraceMode } from '@slate/http-edge';
import type { OnlineKey } from '@slate/stores';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.ts';
import { requirePermission } from '../auth/request-scope.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { ServedDeployment, ServedEnvironments } from '../deployments/served-environments.ts';
import { createQueryGateway, type QueryGateway } from '../gateway/query-gateway.ts';
import { createDataPlaneMetrics, type DataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { loggableInputs } from '../observability/sensitive-inputs.ts';
import type { RunService } from '../runs/run-service.ts';
import { decodeArrowIpc } from './arrow-ipc.ts';
import { tableToInputs } from './arrow-values.ts';
import { decodeByteModel } from './byte-model.ts';
import { createConcurrencyLimiter } from './concurrency-limit.ts';
import { DEFAULT_MAX_FEATHER_ROWS, runFeatherQueries } from './feather-query.ts';
import { DropFeaturesRequestSchema, featuresToDrop } from './feature-drop.ts';
import {
  DeleteRowsRequestSchema,
  featureWrites,
  UploadSingleRequestSchema,
  uploadRejected,
} from './feature-upload.ts';
import type { FeatureWriter } from './feature-writer.ts';
import { introspectGraph } from './graph-introspection.ts';
import { runOnlineQuery } from './online-query.ts';
import { parseOnlineQueryRequest } from './online-query-request.ts';
import { onlineResponseJson } from './online-response-json.ts';
import { runRoutes } from './run-routes.ts';
import { dataPlaneErrorOptions, sendError } from './send-error.ts';
import { tokenRelay } from './token-relay.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The route authenticates its requests itself (e.g. signed download links): no bearer token needed. */
    public?: boolean;
  }
}

export interface DataPlaneServerOptions {
  readonly served: ServedEnvironments;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Resolves when the first deployment state has been applied. */
  readonly isReady: () => boolean;
  /** Largest accepted request body in bytes (default 10 MiB); larger ones get 413 `BODY_TOO_LARGE`. */
  readonly bodyLimit?: number;
  /** Where uploads go; without one the upload and delete endpoints answer 503 (with `gateway`, its writer). */
  readonly featureWriter?: FeatureWriter;
  /**
   * Requests one environment may have in flight (queries, uploads); more get 429 with `Retry-After`
   * (default 512). Ignored when `gateway` is given: the gateway's limiter decides.
   */
  readonly maxInFlightPerEnvironment?: number;
  /** Input rows one feather query or Arrow upload request may carry (default 50,000). */
  readonly maxRowsPerRequest?: number;
  /** Triggered resolver runs (`/v1/runs/*`); without it those routes answer 400. */
  readonly runs?: RunService;
  /** Where query and resolver metrics go (default: a fresh registry); served at `GET /metrics`. */
  readonly metrics?: DataPlaneMetrics;
  /**
   * The query path's front (auth, scoping, admission, engine leases), when shared with another transport
   * (the gRPC server); by default one is made from the options above.
   */
  readonly gateway?: QueryGateway;
  /**
   * How resolver errors' stack traces appear in query answers: `off` (default), `user` (only the feature
   * repository's frames) or `full`.
   */
  readonly stackTraces?: StackTraceMode;
  /**
   * The metadata plane's URL: when given, `POST /v1/oauth/token` is relayed there, so a client configured
   * with only the engine's URL can exchange its credentials.
   */
  readonly metadataPlaneUrl?: string;
  /** Told every route as it is mounted (the fuzz suite and tests walk this route table). */
  readonly onRoute?: (route: { readonly method: string; readonly url: string }) => void;
}

const publicRoutes = new Set(['/healthz', '/readyz']);

/**
 * The data plane's HTTP API (chalk.md §3). Every route but the health probes needs a bearer token issued by
 * the metadata plane for the environment being queried; errors leave in the seed product's shapes, with
 * statuses decided by the shared edge (`@slate/http-edge`) alone.
 *
 * @example
 * const app = createDataPlaneServer({ served, verifier, logger, isReady: () => true, featureWriter });
 * await app.listen({ port: 4001 });
 */
export function createDataPlaneServer(options: DataPlaneServerOptions): FastifyInstance {
  const { served, verifier } = options;
  const maxRows = options.maxRowsPerRequest ?? DEFAULT_MAX_FEATHER_ROWS;
  const gateway =
    options.gateway ??
    createQueryGateway({
      served,
      verifier,
      limiter: createConcurrencyLimiter({ maxInFlight: options.maxInFlightPerEnvironment ?? 512 }),
      featureWriter: options.featureWriter,
    });
  const metrics = options.metrics ?? createDataPlaneMetrics();
  const app = Fastify({
    // Credentials never reach a log line, whatever logs a request.
    loggerInstance: options.logger.child({}, { redact: LOG_REDACTION }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    genReqId: () => crypto.randomUUID(),
    // One line per query (with its query id) replaces Fastify's two lines per request; failures are
    // logged by `sendError` and the `onResponse` hook below.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's 10 s for every plugin to register is wall time: a CPU-throttled pod or a loaded machine
    // (seen: load 37 on 2 cores, '@fastify/cookie' timed out while PGlite started) exceeds it on a sound start.
    pluginTimeout: 60_000,
  });

  if (options.onRoute) {
    const { onRoute } = options;
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') onRoute({ method, url: route.url });
    });
  }

  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode >= 400)
      request.log.info(
        { method: request.method, url: request.routeOptions.url ?? request.url, status: reply.statusCode },
        'request refused',
      );
    done();
  });

  /** One log line per answered query; inputs only at debug level, with sensitive values redacted. */
  const logQuery = (
    request: FastifyRequest,
    message: string,
    deployment: ServedDeployment,
    query: {
      queryId: string;
      correlationId: string | null | undefined;
      queryName: string | undefined;
      seconds: number;
      result: EngineResult;
      inputs: Readonly<Record<string, unknown>>;
    },
  ) => {
    metrics.observeQuery(query.queryName, query.seconds, query.result);
    // At the production level (`warn`) no line is written: skip building it on every query.
    if ((request.log as unknown as Logger).isLevelEnabled('info'))
      request.log.info(
        {
          query_id: query.queryId,
          correlation_id: query.correlationId ?? null,
          deployment_id: deployment.id,
          query_name: query.queryName ?? null,
          rows: query.result.rowCount,
          outputs: query.result.columns.length,
          error_codes: [...new Set(query.result.errors.map((e) => e.code))],
          duration_ms: Math.round(query.seconds * 1e4) / 10,
          ...((request.log as unknown as Logger).isLevelEnabled('debug')
            ? { inputs: loggableInputs(query.inputs, deployment.engine.graph) }
            : {}),
        },
        message,
      );
    // Deprecated features still answer, and say so once per query, as the seed product's engine does.
    if (query.result.warnings.length > 0) {
      request.log.warn(
        { query_id: query.queryId, warnings: query.result.warnings },
        'query used deprecated features',
      );
    }
  };

  // One error mapper, NUL refusal and security headers, shared with the metadata plane.
  installEdge(app, { errorOptions: dataPlaneErrorOptions, logRefusals: false });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new SlateError('not_found', 'NOT_FOUND', `no route ${request.method} ${request.url}`),
      request,
      reply,
    ),
  );

  // Callback style: a token verified recently is answered in the same turn, without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (publicRoutes.has(request.routeOptions.url ?? '') || request.routeOptions.config?.public) {
      done();
      return;
    }
    let principal: Principal | undefined;
    try {
      principal = gateway.authenticateCached(request.headers.authorization);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (principal) {
      request.principal = principal;
      done();
      return;
    }
    gateway.authenticate(request.headers.authorization).then((verified) => {
      request.principal = verified;
      done();
    }, done);
  });

  const serve = gateway.serve;
  const writerOf = gateway.writer;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (request, reply) => {
    requirePermission(request.principal!, 'monitoring.read');
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
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

  app.post('/v1/query/online', async (request, reply) => {
    // The everyday shapes skip zod (same answers and errors: online-query-request.test.ts).
    const body = parseOnlineQueryRequest(request.body);
    if (body.branch_id) throw branchError(body.branch_id);
    const text = await serve(request, 'query.online', async ({ environment, deployment, headers }) => {
      const started = performance.now();
      const answer = await runOnlineQuery(body, {
        environment,
        deploymentId: deployment.id,
        engine: deployment.engine,
        deadline: headers.deadline,
        stackTraces: options.stackTraces,
        queryName: headers.queryName,
        traceId: headers.traceId,
      });
      logQuery(request, 'online query', deployment, {
        queryId: answer.queryId,
        correlationId: body.correlation_id,
        queryName: body.query_name ?? headers.queryName,
        seconds: (performance.now() - started) / 1000,
        result: answer.result,
        inputs: body.inputs,
      });
      // The text JSON.stringify would give, written with the answer's shape known (online-response-json.ts).
      return onlineResponseJson(answer.response);
    });
    // Sent here, outside `serve`: a reply is thenable, and `serve` reads an undefined answer as no deployment.
    return reply.type('application/json; charset=utf-8').send(text);
  });

  app.post('/v1/upload/single', async (request) => {
    const body = UploadSingleRequestSchema.parse(request.body);
    if (body.branch_id) throw branchError(body.branch_id);
    return serve(request, 'query.online', async ({ environment, deployment }) => {
      const writer = writerOf();
      const columns = Object.fromEntries(Object.entries(body.inputs).map(([fqn, value]) => [fqn, [value]]));
      const { writes, errors } = featureWrites(deployment.engine.planner.index, columns, Date.now());
      if (errors.length > 0) throw uploadRejected(errors);
      await writer.write(
        environment.id,
        writes,
        { online: true, offline: true },
        undefined,
        idempotencyKeyOf(request),
      );
      request.log.info(
        { correlation_id: body.correlation_id ?? null, values: writes.length },
        'features uploaded',
      );
      return {
        data: writes.map((write) => ({
          field: write.feature,
          value: write.value,
          error: null,
          ts: new Date(write.observedAt).toISOString(),
        })),
        errors: [],
      };
    });
  });

  app.delete('/v1/features/rows', async (request) => {
    const body = DeleteRowsRequestSchema.parse(request.body);
    return serve(request, 'query.online', async ({ environment, deployment }) => {
      const writer = writerOf();
      const index = deployment.engine.planner.index;
      const namespace = index.namespaces.get(body.namespace);
      if (!namespace)
        throw new SlateError('input', 'INVALID_QUERY', `no feature namespace '${body.namespace}'`);
      const fqns = (
        body.features ?? namespace.features.filter((f) => f.kind === 'scalar').map((f) => f.fqn)
      ).map((name) => (name.startsWith(`${namespace.name}.`) ? name : `${namespace.name}.${name}`));
      const unknown = fqns.filter((fqn) => index.features.get(fqn)?.kind !== 'scalar');
      if (unknown.length > 0)
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          `'${body.namespace}' has no scalar feature ${unknown.map((f) => `'${f}'`).join(', ')}`,
        );
      const keys: OnlineKey[] = fqns.flatMap((feature) =>
        body.primary_keys.map((pkey) => ({ feature, pkey })),
      );
      await writer.delete(environment.id, keys, {
        online: !body.retain_online,
        offline: !body.retain_offline,
      });
      request.log.info({ namespace: namespace.name, rows: body.primary_keys.length }, 'feature rows deleted');
      return { errors: [] };
    });
  });

  // `slate drop`: every value of some features, online and offline. Wiping a feature is a deployer's act,
  // not a querier's: it needs `deploy.create`, where deleting some entities' rows needs `query.online`.
  app.post('/v1/features/drop', async (request) => {
    const body = DropFeaturesRequestSchema.parse(request.body);
    return serve(request, 'deploy.create', async ({ environment, deployment, principal }) => {
      const features = featuresToDrop(deployment.engine.planner.index, body);
      const outcome = await writerOf().drop(environment.id, features, {
        online: !body.retain_online,
        offline: !body.retain_offline,
      });
      request.log.info(
        { principal: principal.subject, environment: environment.id, features, ...outcome },
        'feature values dropped',
      );
      return {
        features,
        online: outcome.online,
        offline: outcome.offlineRows !== null,
        offline_rows: outcome.offlineRows,
        errors: [],
      };
    });
  });

  app.get('/v1/environment/graph', async (request) =>
    serve(request, 'deploy.read', async ({ deployment }) =>
      introspectGraph(deployment.id, deployment.engine.graph),
    ),
  );

  app.get<{ Params: { id: string } }>('/v1/deployments/:id/graph', async (request) =>
    serve(request, 'deploy.read', async ({ deployment }) => {
      if (deployment.id !== request.params.id) {
        throw new SlateError(
          'not_found',
          'DEPLOYMENT_NOT_FOUND',
          `deployment ${request.params.id} is not served here (the active one is ${deployment.id}); ask the metadata plane for other deployments`,
        );
      }
      return introspectGraph(deployment.id, deployment.engine.graph);
    }),
  );

  if (options.runs) void app.register(runRoutes, { served, runs: options.runs });
  else {
    // Without background persistence (no result bus) a run would have nowhere to put its results.
    const runsUnavailable = () =>
      new SlateError(
        'input',
        'INVALID_QUERY',
        'triggered resolver runs need background persistence (a result bus and an offline store) on this data plane: run the resolver through an online query instead',
      );
    app.post('/v1/runs/trigger', async (request) => {
      requirePermission(request.principal!, 'query.online');
      throw runsUnavailable();
    });
    app.get('/v1/runs/:id', async (request) => {
      requirePermission(request.principal!, 'query.online');
      throw runsUnavailable();
    });
  }

  if (options.metadataPlaneUrl) void app.register(tokenRelay({ metadataPlaneUrl: options.metadataPlaneUrl }));

  // Binary endpoints take the raw body whatever its declared type (clients send octet-stream or nothing).
  app.register(async (binary) => {
    binary.removeAllContentTypeParsers();
    binary.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    binary.post('/v1/query/feather', async (request, reply) => {
      const body = nonEmptyBody(request, 'feather request');
      const answer = await serve(request, 'query.online', async ({ environment, deployment, headers }) => {
        const started = performance.now();
        const answered = await runFeatherQueries(
          body,
          {
            environment,
            deploymentId: deployment.id,
            engine: deployment.engine,
            deadline: headers.deadline,
            stackTraces: options.stackTraces,
            queryName: headers.queryName,
            traceId: headers.traceId,
          },
          { maxRows },
        );
        const seconds = (performance.now() - started) / 1000;
        for (const outcome of answered.outcomes) {
          logQuery(request, 'feather query', deployment, {
            queryId: outcome.queryId,
            correlationId: outcome.correlationId,
            queryName: outcome.queryName ?? headers.queryName,
            seconds,
            result: outcome.result,
            inputs: outcome.inputs,
          });
        }
        return answered;
      });
      return reply.type('application/octet-stream').send(answer.body);
    });

    binary.post('/v1/upload_features/multi', async (request) => {
      const model = decodeByteModel(nonEmptyBody(request, 'upload'));
      const features = model.attrs.features;
      const tableBytes = model.bytes.get('table_bytes');
      if (!tableBytes)
        throw new SlateError(
          'input',
          'PARSE_FAILED',
          "the upload has no 'table_bytes' (Arrow IPC of the rows)",
        );
      const compression = model.attrs.table_compression;
      if (compression !== undefined && compression !== null && compression !== 'uncompressed')
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          `table_compression '${String(compression)}' is not supported`,
        );
      const columns = tableToInputs(decodeArrowIpc(tableBytes, maxRows));
      if (Array.isArray(features)) {
        const missing = features.filter((fqn) => typeof fqn !== 'string' || !(fqn in columns));
        if (missing.length > 0)
          throw new SlateError(
            'input',
            'INVALID_QUERY',
            `the table lacks the listed features ${missing.join(', ')}`,
          );
      }
      return serve(request, 'query.online', async ({ environment, deployment }) => {
        const writer = writerOf();
        const { writes, errors } = featureWrites(deployment.engine.planner.index, columns, Date.now());
        if (errors.length > 0) throw uploadRejected(errors);
        const { operationId } = await writer.write(
          environment.id,
          writes,
          { online: true, offline: true },
          undefined,
          idempotencyKeyOf(request),
        );
        request.log.info({ operation_id: operationId, values: writes.length }, 'features uploaded');
        return { operation_id: operationId, errors: [] };
      });
    });
  });

  return app;
}

/**
 * The optional `Idempotency-Key` header of an upload: 1–128 printable ASCII characters.
 *
 * @throws SlateError `INVALID_IDEMPOTENCY_KEY` (input) when it is present and malformed.
 */
function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(key))
    throw new SlateError(
      'input',
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be one header of 1–128 printable ASCII characters',
    );
  return key;
}

function nonEmptyBody(request: FastifyRequest, what: string): Buffer {
  const body = request.body;
  if (!(body instanceof Uint8Array) || body.length === 0)
    throw new SlateError('input', 'PARSE_FAILED', `the ${what} body is empty`);
  return body as Buffer;
}

function branchError(branch: string): SlateError {
  return new SlateError(
    'input',
    'INVALID_QUERY',
    `branch deployments are not available on this data plane yet (branch '${branch}')`,
  );
}
