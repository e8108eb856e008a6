import type { GraphArtifact } from '@slate/graph';
import { SlateError } from '@slate/graph';
import type { z } from 'zod';
import { sha256Hex, toBase64 } from './bytes.ts';
import type { BulkQueryRequest, BulkQueryResult } from './feather.ts';
import {
  type DeleteFeaturesRequest,
  type DeleteFeaturesResponse,
  DeleteResponseSchema,
  type DropFeaturesRequest,
  type DropFeaturesResponse,
  DropResponseSchema,
  type EnvironmentGraph,
  EnvironmentGraphSchema,
  type UploadFeaturesResponse,
  UploadResponseSchema,
} from './features-api.ts';
import { errorFromNetwork, errorFromResponse } from './http-error.ts';
import {
  type MetricSeries,
  type MetricSeriesRequest,
  MetricSeriesSchema,
  metricSeriesQuery,
} from './metrics-api.ts';
import {
  type OnlineQueryRequest,
  OnlineQueryResponseSchema,
  type OnlineQueryResult,
  toOnlineQueryResult,
} from './online-query.ts';
import {
  FINISHED_RUN_STATUSES,
  type IncrementalState,
  IncrementalStateSchema,
  type Run,
  type RunPage,
  RunPageSchema,
  RunSchema,
  type RunStatus,
  type TriggerRunInput,
} from './runs-api.ts';
import {
  type Schedule,
  type ScheduleFire,
  ScheduleFireListSchema,
  ScheduleListSchema,
  type ScheduleRef,
  ScheduleSchema,
} from './schedules-api.ts';
import {
  type Deployment,
  type DeploymentPage,
  DeploymentPageSchema,
  DeploymentSchema,
  FAILED_DEPLOYMENT_STATUSES,
  TokenResponseSchema,
  type WhoAmI,
  WhoAmISchema,
} from './wire.ts';

/**
 * The feather (Apache Arrow) codecs, loaded on the first bulk query or upload: Arrow takes about 170 ms to
 * load, which JSON-only users such as `slate query` should not pay.
 */
const loadFeather = () => import('./feather.ts');

/** How to reach and authenticate against a Slate installation. */
export interface SlateClientOptions {
  /** Metadata plane base URL, e.g. `http://127.0.0.1:4000`. */
  readonly apiServer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * Environment id or (case-insensitive) name. Default: the token's `primary_environment`.
   */
  readonly environment?: string;
  /**
   * Data plane base URL for queries. Default: `engines[environment]` from the token exchange, else
   * `apiServer` (chalk.md §3.2).
   */
  readonly queryServer?: string;
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Clock in epoch ms, for token expiry (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Keeps the exchanged token across processes (the CLI's file cache): read before the first exchange,
   * written after each one, cleared when a request with it is answered 401. Default: this client only.
   */
  readonly tokenCache?: TokenCache;
}

/**
 * Where a client keeps its access token between processes. The client uses a token read from it while more
 * than 60 s of it remain. Failures to read or write should answer `undefined` / resolve: a cache never
 * fails a call.
 */
export interface TokenCache {
  read(): Promise<AccessToken | undefined>;
  write(token: AccessToken): Promise<void>;
  clear(): Promise<void>;
}

/** A bearer token and what the exchange said about the installation. */
export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresAt: Date;
  /** The environment requests go to: the configured one resolved to an id, else the primary one. */
  readonly environmentId: string | undefined;
  readonly primaryEnvironment: string | undefined;
  /** Environment id → data plane URL. */
  readonly engines: Readonly<Record<string, string>>;
  readonly environmentIdToName: Readonly<Record<string, string>>;
}

/** Options every call accepts. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Options of an upload. */
export interface UploadOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key` (1–128 printable ASCII characters): the data plane stores an upload carrying
   * a key it has stored once already only once offline. Default: a random key per `uploadFeatures` call,
   * the same on each of the call's retries. Pass your own to make retries across calls (or processes) safe.
   */
  readonly idempotencyKey?: string;
}

/** Per-query options that are not part of the body. */
export interface QueryOptions extends CallOptions {
  /** Sent as `X-Chalk-Timeout`; the server stops resolvers after it. */
  readonly timeoutMs?: number;
}

/** Git facts recorded with a deployment. */
export interface GitMetadata {
  readonly commit?: string;
  readonly branch?: string;
  readonly author?: string;
  readonly message?: string;
}

/** What `createDeployment` uploads. */
export interface CreateDeploymentInput {
  readonly graph: GraphArtifact;
  /** The ESM bundle of the feature repository. */
  readonly bundle: Uint8Array;
  /** Hex SHA-256 of `bundle`; computed when omitted. */
  readonly sourceHash?: string;
  readonly git?: GitMetadata;
  /** The working tree had changes not in `git.commit`. */
  readonly dirty?: boolean;
  /** Hex sha256 of the diff against the active deployment (`slate diff`). */
  readonly diffHash?: string;
  /** Target environment id (default: the client's environment). */
  readonly environmentId?: string;
}

export interface ListDeploymentsOptions extends CallOptions {
  /** Default: the client's environment. */
  readonly environmentId?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface WaitForDeploymentOptions extends CallOptions {
  /** Give up after this long (default 120 000 ms). */
  readonly timeoutMs?: number;
  /** Poll interval (default 500 ms). */
  readonly intervalMs?: number;
  /** Called with the first observation and each time the status changes. */
  readonly onProgress?: (deployment: Deployment) => void;
}

/**
 * One authenticated JSON request to either plane, answered and validated against `schema` (the typed
 * methods and the API helpers of `secrets-api.ts`, `datasets-api.ts` and `catalog-api.ts` are built on it).
 */
export interface ApiRequest<S extends z.ZodType> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `api`: the metadata plane; `query`: the environment's data plane. */
  readonly target: 'api' | 'query';
  /** Path and query string, e.g. `/v1/environments/dev/secrets`. */
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly schema: S;
  readonly signal?: AbortSignal;
}

/** Typed access to both planes' HTTP APIs. Create with `createSlateClient`. */
export interface SlateClient {
  readonly apiServer: string;
  /**
   * Sends one request with the client's token (refreshed and retried once on 401) and answers its body
   * validated against `request.schema`.
   * @throws SlateError by the answer's status and code (see `errorFromResponse`); `internal`/`INVALID_RESPONSE`
   *   when the body does not match the schema.
   */
  request<S extends z.ZodType>(request: ApiRequest<S>): Promise<z.output<S>>;
  /**
   * `GET` of a binary resource (a dataset's Parquet part) with the client's token, as bytes.
   * @throws SlateError by the answer's status and code.
   */
  requestBytes(request: Omit<ApiRequest<z.ZodType>, 'schema' | 'body' | 'method'>): Promise<Uint8Array>;
  /**
   * A valid bearer token, exchanged on first use and cached until less than 60 s of it remain.
   * @throws SlateError `authentication` when the credentials are refused.
   */
  getToken(options?: CallOptions): Promise<AccessToken>;
  /** The data plane URL queries go to. */
  queryServer(options?: CallOptions): Promise<string>;
  /** `GET /v1/who-am-i`. */
  whoAmI(options?: CallOptions): Promise<WhoAmI>;
  /**
   * `POST /v1/query/online`. Per-feature failures are data (`errors`, `data[].error`), not exceptions.
   * @throws SlateError for HTTP-level failures (bad request, authentication, unreachable plane).
   */
  queryOnline(request: OnlineQueryRequest, options?: QueryOptions): Promise<OnlineQueryResult>;
  /**
   * `POST /v1/query/feather` with one query over many rows (chalk.md §3.5). Per-row and per-feature
   * failures are data (`errors`, null values), as for `queryOnline`.
   * @example
   * const { rows } = await client.queryBulk({ inputs: { 'user.id': [1, 2, 3] }, outputs: ['user.name'] });
   */
  queryBulk(request: BulkQueryRequest, options?: QueryOptions): Promise<BulkQueryResult>;
  /** `POST /v1/query/feather` with several queries in one request; results come back in request order. */
  multiQuery(requests: readonly BulkQueryRequest[], options?: QueryOptions): Promise<BulkQueryResult[]>;
  /**
   * `POST /v1/upload_features/multi`: stores feature values, one column per feature (each namespace's
   * primary key included), as an Arrow table (chalk.md §3.6).
   *
   * Each call carries one `Idempotency-Key` (see `UploadOptions`), so it is retried safely: when the answer
   * is lost (the connection drops after the request was sent) or the data plane answers 503, the same
   * request is sent again, at most twice more, and the data plane applies it once.
   * @throws SlateError `input` (`PARSE_FAILED`, `INVALID_QUERY`) when the data plane refuses the rows;
   *   `unavailable` (`UNREACHABLE`) when no attempt got an answer.
   * @example
   * await client.uploadFeatures({ 'user.id': [1, 2], 'user.name': ['Ada', 'Grace'] });
   */
  uploadFeatures(
    rows: Readonly<Record<string, readonly unknown[]>>,
    options?: UploadOptions,
  ): Promise<UploadFeaturesResponse>;
  /** `DELETE /v1/features/rows`: removes entities' stored values (all of the namespace's features by default). */
  deleteFeatures(request: DeleteFeaturesRequest, options?: CallOptions): Promise<DeleteFeaturesResponse>;
  /**
   * `POST /v1/features/drop`: removes every stored value of some features (all entities), online and
   * offline unless told to keep one; resolves once they are gone. Needs `deploy.create`.
   * @example
   * await client.dropFeatures({ features: ['user.risk_score'] });
   */
  dropFeatures(request: DropFeaturesRequest, options?: CallOptions): Promise<DropFeaturesResponse>;
  /** `GET /v1/environment/graph`: the features and resolvers of the environment's active deployment. */
  environmentGraph(options?: CallOptions): Promise<EnvironmentGraph>;
  /**
   * `POST /v1/deployments`: uploads the graph and bundle. Resolves once the deployment is recorded, not
   * once it serves (see `waitForDeployment`).
   * @throws SlateError `input`/`INVALID_GRAPH` when the metadata plane rejects the graph.
   */
  createDeployment(input: CreateDeploymentInput, options?: CallOptions): Promise<Deployment>;
  /** `GET /v1/deployments/:id`. @throws SlateError `not_found`. */
  getDeployment(id: string, options?: CallOptions): Promise<Deployment>;
  /** `GET /v1/deployments?environment_id=…`, newest first. */
  listDeployments(options?: ListDeploymentsOptions): Promise<DeploymentPage>;
  /** `POST /v1/deployments/:id/redeploy`: a new deployment of an earlier one's graph and bundle (rollback). */
  redeploy(id: string, options?: CallOptions): Promise<Deployment>;
  /**
   * Polls a deployment until it is `SUCCESS` or one of `FAILED_DEPLOYMENT_STATUSES`, and returns it in
   * that state (a failed deployment is returned, not thrown).
   * @throws SlateError `timeout`/`DEPLOYMENT_WAIT_TIMEOUT` when neither happens within `timeoutMs`.
   */
  waitForDeployment(id: string, options?: WaitForDeploymentOptions): Promise<Deployment>;
  /**
   * `POST /v1/runs/trigger` on the data plane: starts a resolver run and answers it as first recorded
   * (`received`), or the run an idempotency key already started.
   * @throws SlateError `not_found` (`RESOLVER_NOT_FOUND`), `input` (`INVALID_RUN`).
   * @example
   * const run = await client.triggerRun({ resolverFqn: 'user_directory' });
   */
  triggerRun(input: TriggerRunInput, options?: CallOptions): Promise<Run>;
  /** `GET /v1/runs/{id}`. @throws SlateError `not_found` (`RUN_NOT_FOUND`). */
  getRun(id: string, options?: CallOptions): Promise<Run>;
  /** `GET /v1/runs`, newest first, optionally of one resolver and/or status. */
  listRuns(options?: ListRunsOptions): Promise<RunPage>;
  /**
   * `POST /v1/runs/{id}/cancel`: the run once stopped (`canceled`), or still `running` with
   * `cancel_requested_at` when another data plane runs it.
   * @throws SlateError `conflict` (`RUN_ALREADY_FINISHED`), `not_found` (`RUN_NOT_FOUND`).
   */
  cancelRun(id: string, options?: CallOptions): Promise<Run>;
  /**
   * Polls a run until it is `succeeded`, `failed` or `canceled` and returns it in that state (a failed run is
   * returned, not thrown).
   * @throws SlateError `timeout`/`RUN_WAIT_TIMEOUT` when it has not finished within `timeoutMs`.
   */
  waitForRun(id: string, options?: WaitForRunOptions): Promise<Run>;
  /**
   * `GET|PUT|DELETE /v1/runs/incremental/{resolver_fqn}`: an incremental resolver's high-water mark and last
   * execution; `set` moves them (`null` forgets one), `drop` forgets both so the next run reads everything.
   * @throws SlateError `input` (`NOT_INCREMENTAL`), `not_found` (`RESOLVER_NOT_FOUND`).
   */
  incrementalState(
    resolverFqn: string,
    change?:
      | { readonly set?: { high_water?: string | number | null; last_execution_at?: string | null } }
      | {
          readonly drop: true;
        },
    options?: CallOptions,
  ): Promise<IncrementalState>;
  /**
   * `GET /v1/environments/:id/schedules`: the cron resolvers and scheduled queries of the environment's
   * active deployment, by kind then name, with PLAY/PAUSE and next and last fire (needs `cron.read`).
   * Listed one scheduler pass (about a second) after a deployment becomes active.
   * @example
   * const schedules = await client.listSchedules();
   * const paused = schedules.filter((s) => s.state === 'PAUSE');
   */
  listSchedules(options?: EnvironmentCallOptions): Promise<Schedule[]>;
  /**
   * `GET /v1/environments/:id/metrics/series`: a metric of the environment over time, from the per-minute
   * rollups data planes report (needs `monitoring.read`).
   * @example
   * const p99 = await client.getMetricSeries({ metric: 'query_latency', aggregation: 'p99', window: '5m',
   *   from: new Date(Date.now() - 3_600_000), to: new Date() });
   */
  getMetricSeries(request: MetricSeriesRequest, options?: EnvironmentCallOptions): Promise<MetricSeries>;
  /**
   * `POST …/schedules/:kind/:name/pause`: the schedule fires nothing until resumed (at most one due time the
   * scheduler was already firing may still fire). Pausing a paused schedule changes nothing. Needs
   * `cron.create`.
   * @throws SlateError `not_found` (`SCHEDULE_NOT_FOUND`), `not_allowed`.
   */
  pauseSchedule(schedule: ScheduleRef, options?: EnvironmentCallOptions): Promise<Schedule>;
  /**
   * `POST …/schedules/:kind/:name/resume`: the schedule fires again from the next due time after now; the
   * paused period is not replayed. Needs `cron.create`.
   * @throws SlateError `not_found` (`SCHEDULE_NOT_FOUND`), `not_allowed`.
   */
  resumeSchedule(schedule: ScheduleRef, options?: EnvironmentCallOptions): Promise<Schedule>;
  /**
   * `GET …/schedules/:kind/:name/fires`: the schedule's fires, newest due time first (default 50, at most
   * 500): delivery to the data plane and the run's or query's status once reported.
   * @example
   * const [latest] = await client.listScheduleFires({ kind: 'query', name: 'daily_risk' }, { limit: 1 });
   */
  listScheduleFires(schedule: ScheduleRef, options?: ListScheduleFiresOptions): Promise<ScheduleFire[]>;
}

/** Options of calls about one environment's resources on the metadata plane. */
export interface EnvironmentCallOptions extends CallOptions {
  /** Default: the client's environment. */
  readonly environmentId?: string;
}

export interface ListScheduleFiresOptions extends EnvironmentCallOptions {
  /** How many, newest first (1 to 500; default 50). */
  readonly limit?: number;
}

export interface ListRunsOptions extends CallOptions {
  readonly resolverFqn?: string;
  readonly status?: RunStatus;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface WaitForRunOptions extends CallOptions {
  /** Give up after this long (default 600 000 ms). */
  readonly timeoutMs?: number;
  /** Poll interval (default 500 ms). */
  readonly intervalMs?: number;
  /** Called with the first observation and each time the status or progress (`rows`) changes. */
  readonly onProgress?: (run: Run) => void;
}

/** Tokens are refreshed this long before they expire, so none expires in flight. */
const REFRESH_MARGIN_MS = 60_000;

interface Request<S extends z.ZodType> extends RawRequest {
  readonly schema: S;
}

interface RawRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly target: 'api' | 'query';
  readonly path: string;
  /** JSON-encoded unless it is bytes, which are sent as `application/octet-stream`. */
  readonly body?: unknown;
  /** Read the answer as bytes (feather) rather than text. */
  readonly binary?: boolean;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
  /** Retry once on 503, as Chalk's clients do for queries (a data plane rolling over). */
  readonly retryUnavailable?: boolean;
  /**
   * Also retry (up to twice, after 100 ms then 400 ms) when no answer came back — the connection failed or
   * dropped — and on 503. Only for requests the server applies once whatever the repeats (an upload with
   * its `Idempotency-Key`).
   */
  readonly retryUnanswered?: boolean;
}

/** Waits of a `retryUnanswered` request before its second and third attempts. */
const UNANSWERED_RETRY_DELAYS_MS = [100, 400];

/**
 * Creates a client. Nothing is sent until the first call; the token exchange happens lazily and is shared
 * by concurrent calls. A request answered 401 clears the cached token and is retried once.
 *
 * @example
 * const client = createSlateClient({ apiServer: 'http://127.0.0.1:4000', clientId, clientSecret });
 * const result = await client.queryOnline({ inputs: { 'user.id': 1 }, outputs: ['user.name'] });
 * console.log(result.get('user.name'));
 */
export function createSlateClient(options: SlateClientOptions): SlateClient {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const apiServer = trimSlash(options.apiServer);
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  const exchange = async (signal?: AbortSignal): Promise<AccessToken> => {
    const url = `${apiServer}/v1/oauth/token`;
    const body = {
      client_id: options.clientId,
      client_secret: options.clientSecret,
      grant_type: 'client_credentials',
    };
    const started = now();
    const answer = await send(fetchImpl, 'POST', url, { 'Content-Type': 'application/json' }, body, signal);
    const token = parse(TokenResponseSchema, answer, 'POST', url);
    const names = token.environment_id_to_name ?? {};
    const engines = token.engines ?? {};
    const primary = token.primary_environment ?? undefined;
    return {
      accessToken: token.access_token,
      tokenType: token.token_type,
      expiresAt: new Date(started + token.expires_in * 1000),
      environmentId: options.environment ? resolveEnvironment(options.environment, names, engines) : primary,
      primaryEnvironment: primary,
      engines,
      environmentIdToName: names,
    };
  };

  const fresh = (token: AccessToken | undefined): token is AccessToken =>
    token !== undefined && token.expiresAt.getTime() - now() > REFRESH_MARGIN_MS;
  /** The shared cache's token when still fresh, else a new exchange written back to it. */
  const obtain = async (signal?: AbortSignal): Promise<AccessToken> => {
    const stored = await options.tokenCache?.read();
    if (fresh(stored)) return stored;
    const token = await exchange(signal);
    await options.tokenCache?.write(token);
    return token;
  };

  const getToken = async (callOptions: CallOptions = {}): Promise<AccessToken> => {
    if (fresh(cached)) return cached;
    pending ??= obtain(callOptions.signal).then(
      (token) => {
        cached = token;
        pending = undefined;
        return token;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };

  const queryServer = async (callOptions: CallOptions = {}): Promise<string> => {
    if (options.queryServer) return trimSlash(options.queryServer);
    const token = await getToken(callOptions);
    const engine = token.environmentId === undefined ? undefined : token.engines[token.environmentId];
    return trimSlash(engine ?? apiServer);
  };

  /** Sends a request with the client's token, retrying once on 401 (fresh token) and, if asked, on 503. */
  const exchangeRaw = async (request: RawRequest): Promise<Answer> => {
    const attempt = async (): Promise<{ token: AccessToken; answer: Answer }> => {
      const token = await getToken(request);
      const base = request.target === 'api' ? apiServer : await queryServer(request);
      const headers: Record<string, string> = {
        Authorization: `Bearer ${token.accessToken}`,
        ...(token.environmentId ? { 'X-Chalk-Env-Id': token.environmentId } : {}),
        ...(request.body === undefined
          ? {}
          : {
              'Content-Type':
                request.body instanceof Uint8Array ? 'application/octet-stream' : 'application/json',
            }),
        ...request.headers,
      };
      const answer = await send(
        fetchImpl,
        request.method,
        `${base}${request.path}`,
        headers,
        request.body,
        request.signal,
        request.binary,
      );
      return { token, answer };
    };
    let { token, answer } = request.retryUnanswered
      ? await attemptUntilAnswered(attempt, request)
      : await attempt();
    if (answer.status === 401) {
      // Only drop the token this request used: a concurrent call may already have refreshed it.
      if (cached === token) {
        cached = undefined;
        await options.tokenCache?.clear();
      }
      ({ answer } = await attempt());
    } else if (answer.status === 503 && request.retryUnavailable) {
      ({ answer } = await attempt());
    }
    return answer;
  };

  /** Runs `attempt` again while it got no answer (network failure) or 503; the last outcome stands. */
  const attemptUntilAnswered = async <T extends { answer: Answer }>(
    attempt: () => Promise<T>,
    request: RawRequest,
  ): Promise<T> => {
    for (let retry = 0; ; retry++) {
      const delay = UNANSWERED_RETRY_DELAYS_MS[retry];
      let outcome: T;
      try {
        outcome = await attempt();
      } catch (error) {
        const unanswered = error instanceof SlateError && error.code === 'UNREACHABLE';
        if (!unanswered || delay === undefined || request.signal?.aborted) throw error;
        await sleep(delay, request.signal);
        continue;
      }
      if (outcome.answer.status !== 503 || delay === undefined) return outcome;
      await sleep(delay, request.signal);
    }
  };

  /** `/v1/environments/<id>` of the call's environment, else the client's. */
  const environmentPath = async (callOptions: EnvironmentCallOptions): Promise<string> => {
    const id = callOptions.environmentId ?? (await getToken(callOptions)).environmentId;
    if (!id)
      throw new SlateError(
        'input',
        'NO_ENVIRONMENT',
        'no environment: configure one (environment option) or give the token a primary environment',
      );
    return `/v1/environments/${encodeURIComponent(id)}`;
  };
  const schedulePath = async (schedule: ScheduleRef, callOptions: EnvironmentCallOptions) =>
    `${await environmentPath(callOptions)}/schedules/${encodeURIComponent(schedule.kind)}/${encodeURIComponent(schedule.name)}`;

  const call = async <S extends z.ZodType>(request: Request<S>): Promise<z.output<S>> => {
    const answer = await exchangeRaw(request);
    return parse(request.schema, answer, request.method, answer.url);
  };

  const queryHeaders = (queryOptions: QueryOptions): Record<string, string> => ({
    'X-Chalk-Deployment-Type': 'engine',
    ...(queryOptions.timeoutMs === undefined ? {} : { 'X-Chalk-Timeout': String(queryOptions.timeoutMs) }),
  });

  const multiQuery = async (
    requests: readonly BulkQueryRequest[],
    queryOptions: QueryOptions = {},
  ): Promise<BulkQueryResult[]> => {
    const { decodeFeatherResponse, encodeFeatherRequest } = await loadFeather();
    const answer = await exchangeRaw({
      method: 'POST',
      target: 'query',
      path: '/v1/query/feather',
      body: encodeFeatherRequest(requests),
      binary: true,
      headers: queryHeaders(queryOptions),
      signal: queryOptions.signal,
      retryUnavailable: true,
    });
    if (answer.status < 200 || answer.status >= 300)
      throw errorFromResponse('POST', answer.url, answer.status, answer.text);
    try {
      return decodeFeatherResponse(answer.bytes ?? new Uint8Array());
    } catch (cause) {
      throw new SlateError(
        'internal',
        'INVALID_RESPONSE',
        `POST ${answer.url} answered an unreadable feather model`,
        undefined,
        { cause },
      );
    }
  };

  const getDeployment = (id: string, callOptions: CallOptions = {}) =>
    call({
      method: 'GET',
      target: 'api',
      path: `/v1/deployments/${encodeURIComponent(id)}`,
      schema: DeploymentSchema,
      signal: callOptions.signal,
    });

  const getRun = (id: string, callOptions: CallOptions = {}) =>
    call({
      method: 'GET',
      target: 'query',
      path: `/v1/runs/${encodeURIComponent(id)}`,
      schema: RunSchema,
      signal: callOptions.signal,
    });

  return {
    apiServer,
    getToken,
    queryServer,

    request: (request) => call(request),

    async requestBytes(request) {
      const answer = await exchangeRaw({ ...request, method: 'GET', binary: true });
      if (answer.status < 200 || answer.status >= 300)
        throw errorFromResponse('GET', answer.url, answer.status, answer.text);
      return answer.bytes ?? new Uint8Array();
    },

    whoAmI: (callOptions = {}) =>
      call({ method: 'GET', target: 'api', path: '/v1/who-am-i', schema: WhoAmISchema, ...callOptions }),

    async queryOnline(request, queryOptions = {}) {
      const response = await call({
        method: 'POST',
        target: 'query',
        path: '/v1/query/online',
        body: request,
        schema: OnlineQueryResponseSchema,
        headers: queryHeaders(queryOptions),
        signal: queryOptions.signal,
        retryUnavailable: true,
      });
      return toOnlineQueryResult(response);
    },

    multiQuery,

    async queryBulk(request, queryOptions = {}) {
      const [result] = await multiQuery([request], queryOptions);
      if (!result) throw new SlateError('internal', 'INVALID_RESPONSE', 'the feather answer holds no query');
      return result;
    },

    async uploadFeatures(rows, callOptions = {}) {
      const { encodeByteModel, inputsTable, tableToIPC } = await loadFeather();
      // One key per logical upload, kept across this call's retries (and the 401 one).
      const idempotencyKey = callOptions.idempotencyKey ?? `slate-upload-${globalThis.crypto.randomUUID()}`;
      const table = tableToIPC(inputsTable(rows), 'stream');
      const answer = await exchangeRaw({
        method: 'POST',
        target: 'query',
        path: '/v1/upload_features/multi',
        body: encodeByteModel({ features: Object.keys(rows), table_compression: 'uncompressed' }, [
          ['table_bytes', table],
        ]),
        headers: { 'Idempotency-Key': idempotencyKey },
        signal: callOptions.signal,
        retryUnanswered: true,
      });
      return parse(UploadResponseSchema, answer, 'POST', answer.url);
    },

    dropFeatures: (request, callOptions = {}) =>
      call({
        method: 'POST',
        target: 'query',
        path: '/v1/features/drop',
        body: {
          features: request.features ?? null,
          namespace: request.namespace ?? null,
          retain_offline: request.retainOffline ?? false,
          retain_online: request.retainOnline ?? false,
        },
        schema: DropResponseSchema,
        signal: callOptions.signal,
      }),

    deleteFeatures: (request, callOptions = {}) =>
      call({
        method: 'DELETE',
        target: 'query',
        path: '/v1/features/rows',
        body: {
          namespace: request.namespace,
          features: request.features ?? null,
          tags: request.tags ?? null,
          primary_keys: request.primaryKeys,
          retain_offline: request.retainOffline ?? false,
          retain_online: request.retainOnline ?? false,
        },
        schema: DeleteResponseSchema,
        signal: callOptions.signal,
      }),

    environmentGraph: (callOptions = {}) =>
      call({
        method: 'GET',
        target: 'query',
        path: '/v1/environment/graph',
        schema: EnvironmentGraphSchema,
        signal: callOptions.signal,
      }),

    async createDeployment(input, callOptions = {}) {
      const environmentId = input.environmentId ?? (await getToken(callOptions)).environmentId;
      return call({
        method: 'POST',
        target: 'api',
        path: '/v1/deployments',
        body: {
          ...(environmentId ? { environment_id: environmentId } : {}),
          graph: input.graph,
          bundle_base64: toBase64(input.bundle),
          source_hash: input.sourceHash ?? (await sha256Hex(input.bundle)),
          ...(input.git ? { git: input.git } : {}),
          ...(input.dirty === undefined ? {} : { dirty: input.dirty }),
          ...(input.diffHash === undefined ? {} : { diff_hash: input.diffHash }),
        },
        schema: DeploymentSchema,
        signal: callOptions.signal,
      });
    },

    getDeployment,

    async listDeployments(listOptions = {}) {
      const environmentId = listOptions.environmentId ?? (await getToken(listOptions)).environmentId;
      const query = new URLSearchParams();
      if (environmentId) query.set('environment_id', environmentId);
      if (listOptions.limit !== undefined) query.set('limit', String(listOptions.limit));
      if (listOptions.cursor) query.set('cursor', listOptions.cursor);
      const search = query.size > 0 ? `?${query}` : '';
      return call({
        method: 'GET',
        target: 'api',
        path: `/v1/deployments${search}`,
        schema: DeploymentPageSchema,
        signal: listOptions.signal,
      });
    },

    redeploy: (id, callOptions = {}) =>
      call({
        method: 'POST',
        target: 'api',
        path: `/v1/deployments/${encodeURIComponent(id)}/redeploy`,
        body: {},
        schema: DeploymentSchema,
        signal: callOptions.signal,
      }),

    triggerRun: (input, callOptions = {}) =>
      call({
        method: 'POST',
        target: 'query',
        path: '/v1/runs/trigger',
        body: {
          resolver_fqn: input.resolverFqn,
          ...(input.lowerBound === undefined ? {} : { lower_bound: input.lowerBound }),
          ...(input.upperBound === undefined ? {} : { upper_bound: input.upperBound }),
          ...(input.maxSamples === undefined ? {} : { max_samples: input.maxSamples }),
          ...(input.idempotencyKey === undefined ? {} : { idempotency_key: input.idempotencyKey }),
          ...(input.storeOnline === undefined ? {} : { store_online: input.storeOnline }),
          ...(input.storeOffline === undefined ? {} : { store_offline: input.storeOffline }),
        },
        schema: RunSchema,
        signal: callOptions.signal,
      }),

    getRun,

    listRuns(listOptions = {}) {
      const query = new URLSearchParams();
      if (listOptions.resolverFqn) query.set('resolver_fqn', listOptions.resolverFqn);
      if (listOptions.status) query.set('status', listOptions.status);
      if (listOptions.limit !== undefined) query.set('limit', String(listOptions.limit));
      if (listOptions.cursor) query.set('cursor', listOptions.cursor);
      return call({
        method: 'GET',
        target: 'query',
        path: `/v1/runs${query.size > 0 ? `?${query}` : ''}`,
        schema: RunPageSchema,
        signal: listOptions.signal,
      });
    },

    cancelRun: (id, callOptions = {}) =>
      call({
        method: 'POST',
        target: 'query',
        path: `/v1/runs/${encodeURIComponent(id)}/cancel`,
        body: {},
        schema: RunSchema,
        signal: callOptions.signal,
      }),

    incrementalState(resolverFqn, change = {}, callOptions = {}) {
      const path = `/v1/runs/incremental/${encodeURIComponent(resolverFqn)}`;
      if ('drop' in change)
        return call({
          method: 'DELETE',
          target: 'query',
          path,
          body: {},
          schema: IncrementalStateSchema,
          ...callOptions,
        });
      if (change.set)
        return call({
          method: 'PUT',
          target: 'query',
          path,
          body: change.set,
          schema: IncrementalStateSchema,
          ...callOptions,
        });
      return call({ method: 'GET', target: 'query', path, schema: IncrementalStateSchema, ...callOptions });
    },

    async getMetricSeries(request, callOptions = {}) {
      return call({
        method: 'GET',
        target: 'api',
        path: `${await environmentPath(callOptions)}/metrics/series?${metricSeriesQuery(request)}`,
        schema: MetricSeriesSchema,
        signal: callOptions.signal,
      });
    },

    async listSchedules(callOptions = {}) {
      const answer = await call({
        method: 'GET',
        target: 'api',
        path: `${await environmentPath(callOptions)}/schedules`,
        schema: ScheduleListSchema,
        signal: callOptions.signal,
      });
      return answer.items;
    },

    async pauseSchedule(schedule, callOptions = {}) {
      return call({
        method: 'POST',
        target: 'api',
        path: `${await schedulePath(schedule, callOptions)}/pause`,
        body: {},
        schema: ScheduleSchema,
        signal: callOptions.signal,
      });
    },

    async resumeSchedule(schedule, callOptions = {}) {
      return call({
        method: 'POST',
        target: 'api',
        path: `${await schedulePath(schedule, callOptions)}/resume`,
        body: {},
        schema: ScheduleSchema,
        signal: callOptions.signal,
      });
    },

    async listScheduleFires(schedule, fireOptions = {}) {
      const query = fireOptions.limit === undefined ? '' : `?limit=${fireOptions.limit}`;
      const answer = await call({
        method: 'GET',
        target: 'api',
        path: `${await schedulePath(schedule, fireOptions)}/fires${query}`,
        schema: ScheduleFireListSchema,
        signal: fireOptions.signal,
      });
      return answer.items;
    },

    async waitForRun(id, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 600_000;
      const intervalMs = waitOptions.intervalMs ?? 500;
      const deadline = now() + timeoutMs;
      let last: string | undefined;
      for (;;) {
        const run = await getRun(id, waitOptions);
        const seen = `${run.status}:${run.rows}`;
        if (seen !== last) {
          last = seen;
          waitOptions.onProgress?.(run);
        }
        if (FINISHED_RUN_STATUSES.has(run.status)) return run;
        if (now() + intervalMs > deadline) {
          throw new SlateError(
            'timeout',
            'RUN_WAIT_TIMEOUT',
            `run ${id} is still ${run.status} after ${Math.round(timeoutMs / 1000)} s`,
            { run_id: id, status: run.status },
          );
        }
        await sleep(intervalMs, waitOptions.signal);
      }
    },

    async waitForDeployment(id, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 120_000;
      const intervalMs = waitOptions.intervalMs ?? 500;
      const deadline = now() + timeoutMs;
      let lastStatus: string | undefined;
      for (;;) {
        const deployment = await getDeployment(id, waitOptions);
        if (deployment.status !== lastStatus) {
          lastStatus = deployment.status;
          waitOptions.onProgress?.(deployment);
        }
        if (deployment.status === 'SUCCESS' || FAILED_DEPLOYMENT_STATUSES.has(deployment.status)) {
          return deployment;
        }
        if (now() + intervalMs > deadline) {
          throw new SlateError(
            'timeout',
            'DEPLOYMENT_WAIT_TIMEOUT',
            `deployment ${id} is still ${deployment.status} after ${Math.round(timeoutMs / 1000)} s`,
            { deployment_id: id, status: deployment.status },
          );
        }
        await sleep(intervalMs, waitOptions.signal);
      }
    },
  };
}

interface Answer {
  readonly url: string;
  readonly status: number;
  readonly text: string;
  /** The body as bytes, for binary requests answered 2xx. */
  readonly bytes?: Uint8Array;
}

/** One HTTP exchange; transport failures become `unavailable` (or `timeout` when aborted). */
async function send(
  fetchImpl: typeof fetch,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal | undefined,
  binary = false,
): Promise<Answer> {
  try {
    const response = await fetchImpl(url, {
      method,
      headers,
      body:
        body === undefined
          ? undefined
          : body instanceof Uint8Array
            ? (body as Uint8Array<ArrayBuffer>)
            : JSON.stringify(body),
      signal,
    });
    if (binary && response.ok)
      return { url, status: response.status, text: '', bytes: new Uint8Array(await response.arrayBuffer()) };
    return { url, status: response.status, text: await response.text() };
  } catch (cause) {
    throw errorFromNetwork(method, url, cause);
  }
}

/** Validates a 2xx answer against the part of its shape the client relies on. */
function parse<S extends z.ZodType>(schema: S, answer: Answer, method: string, url: string): z.output<S> {
  if (answer.status < 200 || answer.status >= 300) {
    throw errorFromResponse(method, url, answer.status, answer.text);
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch (cause) {
    throw new SlateError(
      'internal',
      'INVALID_RESPONSE',
      `${method} ${url} answered with non-JSON`,
      undefined,
      {
        cause,
      },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new SlateError('internal', 'INVALID_RESPONSE', `${method} ${url} answered an unexpected shape`, {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

/** An environment given by id stays; one given by name becomes its id (go `auth/token.go`). */
function resolveEnvironment(
  environment: string,
  idToName: Readonly<Record<string, string>>,
  engines: Readonly<Record<string, string>>,
): string {
  if (environment in idToName || environment in engines) return environment;
  const wanted = environment.toLowerCase();
  const match = Object.entries(idToName).find(([, name]) => name.toLowerCase() === wanted);
  return match ? match[0] : environment;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(errorFromNetwork('GET', 'deployment status', signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(errorFromNetwork('GET', 'deployment status', signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
