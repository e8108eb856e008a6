import { type Engine, indexGraph, type SqlSources, scanSqlResolver } from '@slate/engine';
import { type ResolverSpec, SlateError } from '@slate/graph';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { asDate, compareWater, lookBack, parseWater, serializeWater } from './incremental-mark.ts';
import { createRunOutput, type RunProgress } from './run-output.ts';
import type { RunRecord } from './run-record.ts';
import type { IncrementalState, RunStore } from './run-store.ts';

export interface RunExecutorOptions {
  readonly served: ServedEnvironments;
  readonly store: RunStore;
  readonly publisher: ResultPublisher;
  readonly sqlSources: (environment: { id: string; name: string }) => SqlSources;
  readonly clock: () => Date;
  /** Entities per published result message. */
  readonly chunkSize: number;
}

/** Where a run starts: the incremental state it read first, kept in its record for take-overs. */
export type RunStart = (start: { state: IncrementalState; markFrom: string | null }) => Promise<void>;

/** What the lifecycle is told by, or asked by, an executing attempt. */
export interface RunHooks {
  /** Awaited before anything is published. */
  readonly begin: RunStart;
  /** Awaited once everything is read, before the incremental state moves: throws when the run lost its lease. */
  readonly owned: () => Promise<void>;
}

/**
 * Executes one attempt of a run with a deployment's engine and answers its `succeeded` record; throws
 * what stopped it (the signal's reason when aborted).
 */
export type RunExecutor = (
  record: RunRecord,
  deployment: Engine,
  progress: RunProgress,
  signal: AbortSignal,
  hooks: RunHooks,
) => Promise<RunRecord>;

const NO_STATE: IncrementalState = { high_water: null, last_execution_at: null };

/**
 * Creates the executor of runs. A run reads every entity a resolver returns in batch — a SQL resolver over
 * its data source (bounded by `lower_bound`/`upper_bound` on its incremental or feature-time column; an
 * incremental resolver past the high-water mark it started from, less its lookback, when no lower bound
 * is given), or an input-less data-frame resolver through the deployment's runtime — and publishes the
 * values through `createRunOutput`.
 *
 * A take-over repeats the first attempt's reads: the same `scan_at`, the same starting incremental state
 * (`incremental_start` in the record, never re-read), the same page size — scans page by key or
 * incremental column, so the pages come out the same — and publishes only from the record's checkpoint
 * (`chunks`) on.
 *
 * Incremental state advances only for what was published (and never for a run with bounds, a backfill
 * of a window): to the greatest value read when a run completes (or to its start time with
 * `resolver_execution_time`); when a `row`-mode run is stopped by `max_samples`, to the greatest value
 * below the last one it published (rows come in incremental-column order, so everything up to there was
 * read); `group` and `parameter` runs that stop early leave it.
 *
 * @example
 * const execute = createRunExecutor({ served, store, publisher, sqlSources, clock: () => new Date(), chunkSize: 5_000 });
 */
export function createRunExecutor(options: RunExecutorOptions): RunExecutor {
  const { clock, chunkSize } = options;

  return async (record, deployment, progress, signal, hooks) => {
    const spec = deployment.graph.resolvers.find((resolver) => resolver.fqn === record.resolver_fqn);
    if (!spec)
      throw new SlateError(
        'not_found',
        'RESOLVER_NOT_FOUND',
        `resolver ${record.resolver_fqn} is not in the active deployment ${deployment.deploymentId}`,
      );
    const now = record.scan_at === null ? clock() : new Date(record.scan_at);
    const incremental = spec.sql?.incremental;
    const state =
      record.incremental_start ??
      (incremental ? await options.store.incrementalState(record.environment, spec.fqn) : NO_STATE);
    const byExecution = incremental?.timestamp === 'resolver_execution_time';
    const markFrom = byExecution ? state.last_execution_at : state.high_water;
    progress.markFrom = markFrom;
    await hooks.begin({ state, markFrom });
    const publish = createRunOutput({
      record,
      spec,
      deployment,
      publisher: options.publisher,
      at: now,
      clock,
      progress,
      skipBelow: record.chunks,
    });
    const limit = record.max_samples ?? Number.POSITIVE_INFINITY;
    const take = (batch: readonly Record<string, unknown>[]) =>
      batch.slice(0, Math.max(0, limit - progress.rows));
    const featureTime = indexGraph(deployment.graph).namespaces.get(spec.namespace)?.featureTime;
    const read = { record, spec, featureTime, now, state, markFrom, progress, signal, publish, take, limit };
    const { complete, highWater } = spec.sql
      ? await readSql(options, read)
      : { complete: true, highWater: null, ...(await readDataframe(deployment, chunkSize, read)) };
    await options.publisher.flush();
    await hooks.owned();
    const markTo = await settleMark(options.store, read, complete, highWater);
    return {
      ...record,
      status: 'succeeded',
      finished_at: clock().toISOString(),
      rows: progress.rows,
      values: progress.values,
      chunks: progress.chunks,
      high_water_from: markFrom,
      high_water_to: markTo,
    };
  };
}

/** What one attempt reads with. */
interface Read {
  readonly record: RunRecord;
  readonly spec: ResolverSpec;
  /** The resolver's namespace's feature-time feature. */
  readonly featureTime: string | undefined;
  readonly now: Date;
  readonly state: IncrementalState;
  readonly markFrom: string | null;
  readonly progress: RunProgress;
  readonly signal: AbortSignal;
  readonly publish: (batch: readonly Record<string, unknown>[]) => Promise<void>;
  readonly take: (batch: readonly Record<string, unknown>[]) => Record<string, unknown>[];
  readonly limit: number;
}

/** Scans a SQL resolver page by page; answers whether it read everything and the greatest mark seen. */
async function readSql(
  options: RunExecutorOptions,
  read: Read,
): Promise<{ complete: boolean; highWater: unknown }> {
  const { record, spec, state, markFrom, progress, featureTime } = read;
  const incremental = spec.sql?.incremental;
  const byExecution = incremental?.timestamp === 'resolver_execution_time';
  const keepsState = record.lower_bound === null && record.upper_bound === null;
  let highWater: unknown = state.high_water === null ? null : parseWater(state.high_water);
  const environment = options.served.get(record.environment)!;
  const lookbackS = incremental?.lookbackS ?? 0;
  const useMark = incremental !== undefined && markFrom !== null && record.lower_bound === null;
  const after = useMark ? lookBack(markFrom, lookbackS) : undefined;
  const lastExecution =
    state.last_execution_at === null ? undefined : lookBack(state.last_execution_at, lookbackS);
  const featureTimeColumn = spec.outputs.find(
    (output) => output.fqn === featureTime || output.param === featureTime?.split('.')[1],
  )?.param;
  const parameterMode = incremental?.mode === 'parameter';
  const ordered = incremental?.mode === 'row' && !byExecution;
  // Row mode: the last value published and the greatest one below it (every row up to it was read).
  let last: unknown;
  let below: unknown;
  for await (const page of scanSqlResolver(spec, options.sqlSources(environment), {
    now: read.now,
    boundColumn: incremental?.mode === 'row' ? incremental.column : featureTimeColumn,
    lowerBound: record.lower_bound === null ? undefined : new Date(record.lower_bound),
    upperBound: record.upper_bound === null ? undefined : new Date(record.upper_bound),
    after: parameterMode ? undefined : after,
    ...(parameterMode
      ? {
          incrementalTimestamp: record.lower_bound !== null ? new Date(record.lower_bound) : asDate(after),
          lastExecutionTimestamp: asDate(lastExecution),
        }
      : {}),
    pageSize: options.chunkSize,
    signal: read.signal,
  })) {
    const batch = read.take(page.rows);
    await read.publish(batch);
    const values =
      incremental?.mode === 'group' ? [page.highWater] : (page.boundValues ?? []).slice(0, batch.length);
    for (const value of values) {
      if (value == null) continue;
      if (highWater === null || compareWater(value, highWater) > 0) highWater = value;
      if (last !== undefined && compareWater(value, last) > 0) below = last;
      last = value;
    }
    if (
      ordered &&
      keepsState &&
      below !== undefined &&
      (markFrom === null || compareWater(below, parseWater(markFrom)) > 0)
    )
      progress.mark = serializeWater(below);
    if (progress.rows >= read.limit) return { complete: false, highWater };
  }
  return { complete: true, highWater };
}

/** Calls an input-less data-frame resolver once and publishes its entities in batches. */
async function readDataframe(deployment: Engine, chunkSize: number, read: Read): Promise<object> {
  const { record, spec, progress, featureTime } = read;
  const runtime = deployment.runtime;
  if (!runtime) throw new SlateError('unavailable', 'RUNTIME_UNAVAILABLE', 'the deployment has no runtime');
  const [outcome] = await runtime.call(
    {
      resolver: spec.fqn,
      rows: [{}],
      context: {
        now: read.now,
        environment: record.environment,
        deploymentId: deployment.deploymentId,
        tags: [],
        queryContext: {},
      },
      timeoutMs: spec.timeoutMs,
    },
    read.signal,
  );
  if (!outcome?.ok) throw new Error(outcome ? outcome.error.message : 'the resolver returned nothing');
  const produced = outcome.outputs[spec.dataframe!];
  if (!Array.isArray(produced))
    throw new Error(`resolver ${spec.fqn} did not return an array under '${spec.dataframe}'`);
  const fqnOf = new Map(spec.outputs.map((output) => [output.param, output.fqn]));
  const lower = record.lower_bound === null ? undefined : Date.parse(record.lower_bound);
  const upper = record.upper_bound === null ? undefined : Date.parse(record.upper_bound);
  const entities = (produced as Record<string, unknown>[])
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).flatMap(([param, v]) => (fqnOf.has(param) ? [[fqnOf.get(param)!, v]] : [])),
      ),
    )
    .filter((row) => {
      if (featureTime === undefined || (lower === undefined && upper === undefined)) return true;
      const at = row[featureTime];
      if (at == null) return false;
      const t = new Date(at as string).getTime();
      return (lower === undefined || t >= lower) && (upper === undefined || t < upper);
    });
  for (let i = 0; i < entities.length && progress.rows < read.limit; i += chunkSize) {
    read.signal.throwIfAborted();
    await read.publish(read.take(entities.slice(i, i + chunkSize)));
  }
  return {};
}

/** Stores where a finished attempt got to; answers the mark the run reached. */
async function settleMark(
  store: RunStore,
  read: Read,
  complete: boolean,
  highWater: unknown,
): Promise<string | null> {
  const { record, spec, state, markFrom, progress } = read;
  const incremental = spec.sql?.incremental;
  const byExecution = incremental?.timestamp === 'resolver_execution_time';
  let markTo = markFrom;
  // A bounded run (a backfill of a window) reads around the feed, not along it: the state stays.
  const bounded = record.lower_bound !== null || record.upper_bound !== null;
  if (!incremental || bounded) progress.mark = null;
  else if (complete) {
    const reached = byExecution
      ? read.now.toISOString()
      : highWater === null
        ? null
        : serializeWater(highWater);
    await store.setIncrementalState(record.environment, spec.fqn, {
      high_water: highWater === null ? state.high_water : serializeWater(highWater),
      last_execution_at: read.now.toISOString(),
    });
    markTo = reached ?? markFrom;
  } else if (progress.mark !== null) {
    await store.setIncrementalState(record.environment, spec.fqn, { ...state, high_water: progress.mark });
    markTo = progress.mark;
  }
  progress.mark = null;
  return markTo;
}

/** Stores a row-mode mark over the current state (keeping its `last_execution_at`). */
export async function saveMark(store: RunStore, record: RunRecord, fqn: string, mark: string): Promise<void> {
  const state = await store.incrementalState(record.environment, fqn);
  await store.setIncrementalState(record.environment, fqn, { ...state, high_water: mark });
}
