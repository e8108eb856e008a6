import { randomUUID } from 'node:crypto';
import {
  type Engine,
  type EngineQuery,
  type EngineResult,
  type OutputColumn,
  type QueryError,
  toJsonValue,
} from '@slate/engine';
import { type DType, SlateError } from '@slate/graph';
import type { StackTraceMode } from '@slate/http-edge';
import { z } from 'zod';
import type { ServedEnvironment } from '../deployments/served-environments.ts';
import { withWireStacks } from './wire-stacks.ts';

/** `POST /v1/query/online` as the seed product's clients send it (chalk.md §3.4); unknown fields are ignored. */
export const OnlineQueryRequestSchema = z.object({
  inputs: z.record(z.string(), z.unknown()),
  outputs: z.array(z.string().min(1)).nullish(),
  staleness: z.record(z.string(), z.string()).nullish(),
  context: z
    .object({
      environment: z.string().nullish(),
      tags: z.array(z.string()).nullish(),
      required_resolver_tags: z.array(z.string()).nullish(),
    })
    .nullish(),
  include_meta: z.boolean().nullish(),
  explain: z.boolean().nullish(),
  store_plan_stages: z.boolean().nullish(),
  query_name: z.string().nullish(),
  query_name_version: z.string().nullish(),
  correlation_id: z.string().nullish(),
  deployment_id: z.string().nullish(),
  branch_id: z.string().nullish(),
  query_context: z.record(z.string(), z.unknown()).nullish(),
  meta: z.record(z.string(), z.unknown()).nullish(),
  now: z.iso.datetime({ offset: true }).nullish(),
  encoding_options: z.object({ encode_structs_as_objects: z.boolean().nullish() }).nullish(),
  planner_options: z.record(z.string(), z.unknown()).nullish(),
});
export type OnlineQueryRequest = z.infer<typeof OnlineQueryRequestSchema>;

/** One entry of `data` in the response. */
export interface FeatureResult {
  field: string;
  value: unknown;
  pkey: unknown;
  ts: string | null;
  valid: boolean;
  error: QueryError | null;
  meta?: {
    chosen_resolver_fqn: string | null;
    cache_hit: boolean;
    primitive_type: string | null;
    version: number;
  };
}

export interface OnlineQueryResponse {
  data: FeatureResult[];
  errors: QueryError[];
  meta?: Record<string, unknown>;
}

/** What the route knows besides the body. */
export interface OnlineQueryCall {
  readonly environment: ServedEnvironment;
  readonly deploymentId: string;
  readonly engine: Engine;
  /** Absolute deadline from `X-Chalk-Timeout`. */
  readonly deadline?: number;
  readonly queryName?: string;
  readonly signal?: AbortSignal;
  /** How resolver errors' stack traces leave the data plane (default `off`). */
  readonly stackTraces?: StackTraceMode;
  /** The request's trace id, returned as `meta.trace_id` (null when the data plane does not trace). */
  readonly traceId?: string;
}

/**
 * Answers one online query: resolves a named query, runs the engine over one row, and shapes the result
 * as the seed product does: feature results in `data`, every error in `errors` (field errors also on their
 * `data` entry), `meta` only when `include_meta` or `explain` is set.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) when neither the query nor a matching named query names outputs;
 * `DEPLOYMENT_NOT_LOADED` (kind `not_found`) when `deployment_id` names another deployment than the one serving.
 */
export async function runOnlineQuery(
  request: OnlineQueryRequest,
  call: OnlineQueryCall,
): Promise<{ response: OnlineQueryResponse; queryId: string; result: EngineResult }> {
  const started = performance.now();
  const queryId = randomUUID();
  const now = request.now ? new Date(request.now) : new Date();
  const inputs: Record<string, unknown[]> = {};
  for (const fqn in request.inputs) inputs[fqn] = [request.inputs[fqn]];
  const result = withWireStacks(
    await call.engine.query(engineQuery(request, call, inputs, now)),
    call.stackTraces ?? 'off',
  );

  const response: OnlineQueryResponse = {
    data: featureResults(result.columns, request, call.engine),
    errors: result.errors,
  };
  if (request.include_meta || request.explain) {
    response.meta = queryMeta(request, call, { queryId, now, started, result });
  }
  return { response, queryId, result };
}

/** The query-body fields shared by the JSON and feather query endpoints. */
export type QueryFields = Omit<OnlineQueryRequest, 'inputs' | 'now'>;

/**
 * The engine query for a request: a named query (by body or `X-Chalk-Query-Name`) supplies outputs,
 * staleness and tags the request does not give. A `query_name` that matches no named query is only a label
 * (metrics, query log), as in the seed product.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) when neither the query nor a matching named query names outputs;
 * `DEPLOYMENT_NOT_LOADED` (kind `not_found`) when `deployment_id` names another deployment than the one serving.
 */
export function engineQuery(
  request: QueryFields,
  call: OnlineQueryCall,
  inputs: Record<string, unknown[]>,
  now: Date,
): EngineQuery {
  // A preview deployment is answered only by a data plane that has it loaded; answering from the active
  // deployment instead would give a caller testing a preview the results of another graph.
  if (request.deployment_id && request.deployment_id !== call.deploymentId) {
    throw new SlateError(
      'not_found',
      'DEPLOYMENT_NOT_LOADED',
      `deployment '${request.deployment_id}' is not loaded on this data plane; it answers environment ${call.environment.id} from deployment ${call.deploymentId}`,
    );
  }
  const named = resolveNamedQuery(
    call.engine,
    request.query_name ?? call.queryName,
    request.query_name_version,
  );
  const outputs = request.outputs?.length ? request.outputs : (named?.outputs ?? []);
  if (outputs.length === 0) {
    const name = request.query_name ?? call.queryName;
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      name
        ? `the query names no outputs and no named query '${name}'${request.query_name_version ? ` version ${request.query_name_version}` : ''} is in deployment ${call.engine.deploymentId}`
        : 'the query names no outputs',
    );
  }
  return {
    inputs,
    outputs,
    now,
    staleness:
      named || request.staleness ? { ...(named?.staleness ?? {}), ...(request.staleness ?? {}) } : {},
    tags: named ? [...named.tags, ...(request.context?.tags ?? [])] : (request.context?.tags ?? []),
    requiredResolverTags: request.context?.required_resolver_tags ?? [],
    queryContext: request.query_context ?? {},
    deadline: call.deadline,
    signal: call.signal,
    labels: {
      queryName: (request.query_name ?? call.queryName) || undefined,
      correlationId: request.correlation_id ?? undefined,
    },
  };
}

/** The response `meta` object (chalk.md §3.4). */
export function queryMeta(
  request: QueryFields,
  call: OnlineQueryCall,
  run: { queryId: string; now: Date; started: number; result: EngineResult },
): Record<string, unknown> {
  return {
    execution_duration_s: (performance.now() - run.started) / 1000,
    deployment_id: call.deploymentId,
    environment_id: call.environment.id,
    environment_name: call.environment.name,
    query_id: run.queryId,
    query_timestamp: run.now.toISOString(),
    query_hash: run.result.queryHash,
    missed_plan_cache: !run.result.planCacheHit,
    explain_output: request.explain ? run.result.explain : null,
    trace_id: call.traceId ?? null,
    ...(request.meta ? { metadata: request.meta } : {}),
  };
}

function resolveNamedQuery(
  engine: Engine,
  name: string | null | undefined,
  version: string | null | undefined,
) {
  if (!name) return undefined;
  const candidates = engine.graph.namedQueries.filter((q) => q.name === name);
  const match = version
    ? candidates.find((q) => q.version === version)
    : (candidates.find((q) => q.version === undefined) ?? candidates[0]);
  // No match is not an error: in the seed product `query_name` is also a plain label for metrics, the query
  // log and usage, and pulls outputs and options from a named query only when one matches.
  return match;
}

function featureResults(
  columns: readonly OutputColumn[],
  request: OnlineQueryRequest,
  engine: Engine,
): FeatureResult[] {
  const data: FeatureResult[] = [];
  const namespaces = engine.planner.index.namespaces;
  const structsAsObjects = request.encoding_options?.encode_structs_as_objects === true;
  // Values read together share their timestamps: format each distinct one once.
  let lastObservedAt: number | null = null;
  let lastTs: string | null = null;
  for (const column of columns) {
    const error = column.errors[0] ?? null;
    // Request-level failures (no resolver in scope) are reported in `errors` only, as the seed product does.
    if (error?.category === 'REQUEST') continue;
    const observedAt = column.observedAt[0] ?? null;
    if (observedAt !== lastObservedAt) {
      lastObservedAt = observedAt;
      lastTs = observedAt === null ? null : new Date(observedAt).toISOString();
    }
    const primaryKey = namespaces.get(column.fqn.slice(0, column.fqn.indexOf('.')))?.primaryKey;
    const value = error ? null : column.values[0];
    const entry: FeatureResult = {
      field: column.fqn,
      value:
        value === null || typeof value !== 'object'
          ? (value ?? null)
          : encodeValue(column, value, structsAsObjects, engine),
      pkey: primaryKey === undefined ? null : (request.inputs[primaryKey] ?? null),
      ts: lastTs,
      valid: error === null,
      error,
    };
    if (request.include_meta) {
      entry.meta = {
        chosen_resolver_fqn: column.resolver,
        cache_hit: column.cacheHits[0] ?? false,
        primitive_type: column.primitiveType,
        version: column.version,
      };
    }
    data.push(entry);
  }
  return data;
}

/**
 * Has-many values go out as `{columns, values}` with `values` column-major, as the seed product's clients read
 * them, whatever `encode_structs_as_objects` says (the TS client's suite pins this shape with the option on).
 * Structs (a has-one asked for as a whole, struct features) go out as objects with `encode_structs_as_objects`,
 * else as positional lists in the struct's field order, as the seed product's server encodes them by default.
 */
function encodeValue(
  column: OutputColumn,
  value: unknown,
  structsAsObjects: boolean,
  engine: Engine,
): unknown {
  if (column.kind === 'has_many') {
    const rows = (value as Record<string, unknown>[] | null) ?? [];
    // With no rows to read names from, the table still has its columns: the related class's scalar features.
    const names =
      column.fields ??
      (rows.length > 0
        ? [...new Set(rows.flatMap((row) => Object.keys(row)))]
        : relatedFeatureNames(engine, column.target));
    return {
      columns: names.map((name) => `${column.target}.${name}`),
      values: names.map((name) => rows.map((row) => toJsonValue(row[name] ?? null))),
    };
  }
  const spec = column.dtype ? undefined : engine.planner.index.resolve(column.fqn)?.spec;
  const dtype = column.dtype ?? (spec?.kind === 'scalar' ? spec.dtype : undefined);
  return toJsonValue(encodeStructs(dtype, value, structsAsObjects));
}

function relatedFeatureNames(engine: Engine, target: string | undefined): string[] {
  const namespace = target === undefined ? undefined : engine.planner.index.namespaces.get(target);
  return (namespace?.features ?? []).flatMap((f) => (f.kind === 'scalar' && !f.window ? [f.name] : []));
}

function encodeStructs(dtype: DType | undefined, value: unknown, asObjects: boolean): unknown {
  if (value === null || value === undefined || dtype === undefined) return value ?? null;
  if (dtype.type === 'struct' && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const fields = Object.entries(dtype.fields);
    return asObjects
      ? Object.fromEntries(fields.map(([name, type]) => [name, encodeStructs(type, record[name], true)]))
      : fields.map(([name, type]) => encodeStructs(type, record[name], false));
  }
  if ((dtype.type === 'list' || dtype.type === 'set') && Array.isArray(value))
    return value.map((item) => encodeStructs(dtype.of, item, asObjects));
  return value;
}
