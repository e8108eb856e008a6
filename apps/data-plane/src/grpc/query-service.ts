import { create } from '@bufbuild/protobuf';
import { ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { SlateError } from '@slate/graph';
import {
  GenericSingleResponseSchema,
  type OnlineQueryBulkRequest,
  type OnlineQueryBulkResponse,
  OnlineQueryBulkResponseSchema,
  type OnlineQueryMultiResponse,
  OnlineQueryMultiResponseSchema,
  OnlineQueryResponseSchema,
  PingResponseSchema,
  QueryService,
  UploadFeaturesBulkResponseSchema,
  UploadFeaturesResponseSchema,
} from '@slate/grpc-api';
import { type Table, tableToIPC } from 'apache-arrow';
import type { Logger } from 'pino';
import type { QueryGateway, QueryScope } from '../gateway/query-gateway.ts';
import { decodeArrowIpc } from '../http/arrow-ipc.ts';
import { tableToInputs } from '../http/arrow-values.ts';
import { answerFeatherQuery, type FeatherQueryHeader } from '../http/feather-query.ts';
import { featureWrites, uploadRejected } from '../http/feature-upload.ts';
import { type OnlineQueryCall, runOnlineQuery } from '../http/online-query.ts';
import type { DataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { toConnectError } from './grpc-status.ts';
import {
  bulkHeaderFromProto,
  chalkErrorToProto,
  metaToProto,
  onlineRequestFromProto,
  onlineResponseToProto,
} from './proto-mapping.ts';

export interface QueryServiceOptions {
  readonly gateway: QueryGateway;
  readonly logger: Logger;
  /** Input rows one call may carry, over all its queries (the HTTP API's `maxRowsPerRequest`). */
  readonly maxRows: number;
  /** Queries one `OnlineQueryMulti` call may carry (they share one admission slot). */
  readonly maxQueriesPerMulti: number;
  readonly metrics?: DataPlaneMetrics;
}

/**
 * `chalk.engine.v1.QueryService` over the same query path as the HTTP API: every method but Ping runs
 * through the gateway (bearer token in `authorization`, `x-chalk-env-id`, `x-chalk-*` query headers, the
 * environment's concurrency cap, the active engine), and errors leave as gRPC statuses chosen by
 * `toConnectError`. The call's deadline (`grpc-timeout`) and cancellation reach the engine.
 *
 * @example
 * const handler = connectNodeAdapter({ routes: queryServiceRoutes({ gateway, logger, maxRows: 50_000, maxQueriesPerMulti: 64 }) });
 */
export function queryServiceRoutes(options: QueryServiceOptions): (router: ConnectRouter) => void {
  const { gateway, logger, maxRows } = options;

  /** Authenticates, runs `prepare` (input checks), then `run` inside the gateway's admission and lease. */
  const handle =
    <Request, Input, Response>(
      prepare: (request: Request) => Input,
      run: (input: Input, call: OnlineQueryCall, scope: QueryScope) => Promise<Response>,
    ) =>
    async (request: Request, context: HandlerContext): Promise<Response> => {
      try {
        const headers = headerRecord(context.requestHeader);
        const principal = await gateway.authenticate(headers.authorization);
        const input = prepare(request);
        return await gateway.serve({ principal, headers }, 'query.online', (scope) =>
          run(input, callOf(scope, context), scope),
        );
      } catch (error) {
        // Past the deadline or cancelled, Connect has answered already: whatever the engine threw on the
        // abort is not a failure to log.
        if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
        throw toConnectError(error, (cause) =>
          logger.error({ err: cause, method: context.method.name }, 'gRPC call failed'),
        );
      }
    };

  const logQuery = (
    method: string,
    scope: QueryScope,
    query: {
      queryId: string;
      correlationId?: string | null;
      queryName?: string;
      seconds: number;
      rows: number;
    },
    result: Parameters<DataPlaneMetrics['observeQuery']>[2],
  ) => {
    options.metrics?.observeQuery(query.queryName, query.seconds, result);
    logger.info(
      {
        transport: 'grpc',
        method,
        query_id: query.queryId,
        correlation_id: query.correlationId ?? null,
        deployment_id: scope.deployment.id,
        query_name: query.queryName ?? null,
        rows: query.rows,
        duration_ms: Math.round(query.seconds * 1e4) / 10,
      },
      'online query',
    );
  };

  const single = async (
    request: ReturnType<typeof onlineRequestFromProto>,
    call: OnlineQueryCall,
    scope: QueryScope,
  ) => {
    const started = performance.now();
    const answer = await runOnlineQuery(request, call);
    logQuery(
      'OnlineQuery',
      scope,
      {
        queryId: answer.queryId,
        correlationId: request.correlation_id,
        queryName: request.query_name ?? call.queryName,
        seconds: (performance.now() - started) / 1000,
        rows: 1,
      },
      answer.result,
    );
    return onlineResponseToProto(answer.response);
  };

  const bulk = async (
    query: { header: FeatherQueryHeader; table: Table },
    call: OnlineQueryCall,
    scope: QueryScope,
  ): Promise<OnlineQueryBulkResponse> => {
    const started = performance.now();
    const answer = await answerFeatherQuery(query.header, query.table, call);
    logQuery(
      'OnlineQueryBulk',
      scope,
      {
        queryId: answer.outcome.queryId,
        correlationId: answer.outcome.correlationId,
        queryName: answer.outcome.queryName ?? call.queryName,
        seconds: (performance.now() - started) / 1000,
        rows: answer.outcome.rows,
      },
      answer.outcome.result,
    );
    return create(OnlineQueryBulkResponseSchema, {
      scalarsData: tableToIPC(answer.scalars, 'stream'),
      groupsData: Object.fromEntries(answer.groups.map(([fqn, table]) => [fqn, tableToIPC(table, 'stream')])),
      errors: answer.errors.map(chalkErrorToProto),
      responseMeta: metaToProto(answer.meta),
    });
  };

  const prepareBulk = (request: OnlineQueryBulkRequest, rowsLeft = maxRows) => {
    const header = bulkHeaderFromProto(request);
    if (header.branch_id) throw branchError(header.branch_id);
    return { header, table: arrowTable(request.inputsFeather, rowsLeft, 'inputs_feather') };
  };

  const upload = async (bytes: Uint8Array, scope: QueryScope) => {
    const columns = tableToInputs(arrowTable(bytes, maxRows, 'the upload table'));
    const { writes, errors } = featureWrites(scope.deployment.engine.planner.index, columns, Date.now());
    if (errors.length > 0) throw uploadRejected(errors);
    const { operationId } = await gateway
      .writer()
      .write(scope.environment.id, writes, { online: true, offline: true });
    logger.info({ transport: 'grpc', operation_id: operationId, values: writes.length }, 'features uploaded');
    return operationId;
  };

  return (router) => {
    router.service(QueryService, {
      async ping(request, context) {
        try {
          await gateway.authenticate(headerRecord(context.requestHeader).authorization);
          return create(PingResponseSchema, { num: request.num });
        } catch (error) {
          throw toConnectError(error, (cause) => logger.error({ err: cause }, 'gRPC ping failed'));
        }
      },

      onlineQuery: handle((request) => {
        const body = onlineRequestFromProto(request);
        if (body.branch_id) throw branchError(body.branch_id);
        return body;
      }, single),

      onlineQueryBulk: handle(prepareBulk, bulk),

      onlineQueryMulti: handle(
        (request) => {
          if (request.queries.length === 0)
            throw new SlateError('input', 'INVALID_QUERY', 'the multi-query holds no query');
          if (request.queries.length > options.maxQueriesPerMulti)
            throw new SlateError(
              'input',
              'INVALID_QUERY',
              `the multi-query holds ${request.queries.length} queries; this data plane answers at most ${options.maxQueriesPerMulti} per call`,
            );
          let rowsLeft = maxRows;
          return request.queries.map((query, index) => {
            // A query that cannot be read is answered with its error; the others still run.
            try {
              if (query.query.case === 'singleRequest') {
                const body = onlineRequestFromProto(query.query.value);
                if (body.branch_id) throw branchError(body.branch_id);
                return { kind: 'single' as const, body };
              }
              if (query.query.case === 'bulkRequest') {
                const prepared = prepareBulk(query.query.value, rowsLeft);
                rowsLeft -= prepared.table.numRows;
                return { kind: 'bulk' as const, ...prepared };
              }
              throw new SlateError('input', 'INVALID_QUERY', `queries[${index}] holds no request`);
            } catch (error) {
              if (!(error instanceof SlateError) || error.kind !== 'input') throw error;
              return { kind: 'refused' as const, bulk: query.query.case === 'bulkRequest', error };
            }
          });
        },
        async (queries, call, scope): Promise<OnlineQueryMultiResponse> => {
          const responses = await Promise.all(
            queries.map(async (query) => {
              if (query.kind === 'single')
                return create(GenericSingleResponseSchema, {
                  response: { case: 'singleResponse', value: await single(query.body, call, scope) },
                });
              if (query.kind === 'bulk')
                return create(GenericSingleResponseSchema, {
                  response: { case: 'bulkResponse', value: await bulk(query, call, scope) },
                });
              const errors = [
                chalkErrorToProto({
                  code: 'INVALID_QUERY',
                  category: 'REQUEST',
                  message: query.error.message,
                }),
              ];
              return create(GenericSingleResponseSchema, {
                response: query.bulk
                  ? { case: 'bulkResponse', value: create(OnlineQueryBulkResponseSchema, { errors }) }
                  : { case: 'singleResponse', value: create(OnlineQueryResponseSchema, { errors }) },
              });
            }),
          );
          return create(OnlineQueryMultiResponseSchema, { responses });
        },
      ),

      uploadFeatures: handle(
        (request) => request.inputsTable,
        async (bytes, _call, scope) =>
          create(UploadFeaturesResponseSchema, { operationId: await upload(bytes, scope) }),
      ),

      uploadFeaturesBulk: handle(
        (request) => request.inputsFeather,
        async (bytes, _call, scope) => {
          await upload(bytes, scope);
          return create(UploadFeaturesBulkResponseSchema, {});
        },
      ),
    });
  };
}

/** The engine call for a scope: the earlier of the gRPC deadline and `X-Chalk-Timeout`, and the call's signal. */
function callOf(scope: QueryScope, context: HandlerContext): OnlineQueryCall {
  const timeoutMs = context.timeoutMs();
  const grpcDeadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  const deadlines = [grpcDeadline, scope.headers.deadline].filter((d): d is number => d !== undefined);
  return {
    environment: scope.environment,
    deploymentId: scope.deployment.id,
    engine: scope.deployment.engine,
    deadline: deadlines.length > 0 ? Math.min(...deadlines) : undefined,
    queryName: scope.headers.queryName,
    signal: context.signal,
    traceId: scope.headers.traceId,
  };
}

function arrowTable(bytes: Uint8Array, maxRows: number, what: string): Table {
  if (bytes.length === 0) throw new SlateError('input', 'PARSE_FAILED', `${what} is empty`);
  return decodeArrowIpc(bytes, Math.max(0, maxRows));
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, key) => {
    record[key] = value;
  });
  return record;
}

function branchError(branch: string): SlateError {
  return new SlateError(
    'input',
    'INVALID_QUERY',
    `branch deployments are not available on this data plane yet (branch '${branch}')`,
  );
}
