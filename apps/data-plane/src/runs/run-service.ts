import { randomUUID } from 'node:crypto';
import { type Engine, indexGraph, type SqlSources, scanSqlResolver } from '@slate/engine';
import { type ResolverSpec, SlateError } from '@slate/graph';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultValue } from '../persistence/result-message.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import {
  type IncrementalStateRequest,
  IncrementalStateRequestSchema,
  type RunListQuery,
  type RunPage,
  type RunRecord,
  type RunStatus,
  type RunTriggerMessage,
  RunTriggerMessageSchema,
} from './run-record.ts';
import type { IncrementalState, RunStore } from './run-store.ts';

/** Starts, executes and reports resolver runs (triggered by the API or a schedule). */
export interface RunService {
  /**
   * Starts a run from a trigger message and answers its record as first stored (`received`), or the run an
   * idempotency key already started.
   *
   * @throws SlateError `RESOLVER_NOT_FOUND` (not_found) when the active deployment has no such resolver,
   * `ENVIRONMENT_NOT_FOUND` when the environment has no active deployment, `INVALID_RUN` (input) when the
   * resolver cannot run in batch.
   */
  trigger(message: RunTriggerMessage): Promise<RunRecord>;
  /** A run, marked `failed` first when it was left `running` by a data plane that stopped (see `staleAfterMs`). */
  get(environment: string, id: string): Promise<RunRecord | null>;
  /** Newest first, at most `limit` (stale runs marked failed first). */
  list(environment: string, limit?: number): Promise<RunRecord[]>;
  /**
   * A page of runs, newest first, of one resolver and/or status.
   *
   * @throws SlateError `INVALID_CURSOR` for a cursor this listing did not hand out.
   */
  page(environment: string, query?: RunListQuery): Promise<RunPage>;
  /**
   * Cancels a run (chalk's `CancelScheduledResolverRun`): a run of this data plane stops between batches —
   * batches already published stay written, nothing of the next one is — and ends `canceled`; the answer is
   * its final record. A run of another data plane (same object storage) is asked to stop; it does at its
   * next heartbeat, and the answer is its record with `cancel_requested_at`.
   *
   * @throws SlateError `RUN_NOT_FOUND` (not_found); `RUN_ALREADY_FINISHED` (conflict) for a run that has
   * succeeded, failed or been canceled.
   */
  cancel(environment: string, id: string): Promise<RunRecord>;
  /**
   * An incremental resolver's state: the high-water mark and when its last successful run started
   * (chalk's `GetLatestHighWaterMark`, `chalk incremental status`).
   *
   * @throws SlateError `RESOLVER_NOT_FOUND` (not_found), `NOT_INCREMENTAL` (input) for a resolver without
   * incremental settings, `ENVIRONMENT_NOT_FOUND`.
   */
  incrementalState(environment: string, resolverFqn: string): Promise<IncrementalState>;
  /**
   * Sets where the next run starts (`chalk incremental set`); `null` forgets a field, an omitted one is
   * kept. Answers the new state.
   *
   * @throws as `incrementalState`; ZodError for a malformed mark.
   */
  setIncrementalState(
    environment: string,
    resolverFqn: string,
    state: IncrementalStateRequest,
  ): Promise<IncrementalState>;
  /** Forgets the state (`chalk incremental drop`): the next run reads everything. @throws as `incrementalState`. */
  dropIncrementalState(environment: string, resolverFqn: string): Promise<void>;
  /** Marks the environment's abandoned runs `failed` (done on first use of an environment; exposed for start-up). */
  recover(environment: string): Promise<RunRecord[]>;
  /** Resolves once every started run has finished. */
  idle(): Promise<void>;
}

export interface RunServiceOptions {
  readonly served: ServedEnvironments;
  readonly store: RunStore;
  /** Where run results go: the result bus, consumed by the online and offline writers. */
  readonly publisher: ResultPublisher;
  /** The environment's data sources, for SQL resolvers. */
  readonly sqlSources: (environment: { id: string; name: string }) => SqlSources;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  /** Entities per published result message (default 5,000). */
  readonly chunkSize?: number;
  /** How often a running run writes its heartbeat and progress, and looks for a cancel request (default 10 s). */
  readonly heartbeatMs?: number;
  /**
   * A `received` or `running` run whose last heartbeat (else start, else creation) is older than this, and
   * that this data plane is not running, was abandoned by a data plane that stopped: it is marked `failed`
   * with `RUN_ABANDONED` when read (default 60 s, at least twice `heartbeatMs`).
   */
  readonly staleAfterMs?: number;
}

const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'canceled']);

/** What a run has committed so far (published to the result bus). */
interface Progress {
  rows: number;
  values: number;
  /** Incremental runs: the mark to store if the run stops now (null: leave it). */
  mark: string | null;
  /** The mark the run started from. */
  markFrom: string | null;
}

/**
 * Creates the run service. A run reads every entity a resolver returns in batch — a SQL resolver over its
 * data source (bounded by `lower_bound`/`upper_bound` on its incremental or feature-time column; an
 * incremental resolver past the persisted high-water mark, less its lookback, when no lower bound is
 * given), or an input-less data-frame resolver through the deployment's runtime — and publishes the values
 * to the result bus: every value offline (`store_offline`, default true), and online (`store_online`,
 * default true) the features with `etlOfflineToOnline` and a non-zero `maxStaleness`, as the seed product
 * does. Result messages carry deterministic ids (`run:<id>:<chunk>:…`), so a redelivery is written once.
 *
 * Incremental state advances only for what was published (and never for a run with bounds, a backfill
 * of a window): to the greatest value read when a run completes
 * (or to its start time with `resolver_execution_time`); when a `row`-mode run is canceled or stopped by
 * `max_samples`, to the greatest value below the last one it published (rows come in incremental-column
 * order, so everything up to there was read); `group` and `parameter` runs that stop early leave it.
 *
 * Abandoned runs are marked `failed` rather than started again: a run's batches may already be written,
 * its incremental mark has not moved, and the next scheduled or triggered run picks up from there.
 *
 * @example
 * const runs = createRunService({ served, store: createObjectRunStore(objectStore), publisher, sqlSources: (env) => registry.sourcesFor(env) });
 * const { id } = await runs.trigger({ resolver_fqn: 'users', environment: 'env-1', trigger: 'API' });
 */
export function createRunService(options: RunServiceOptions): RunService {
  const clock = options.clock ?? (() => new Date());
  const chunkSize = options.chunkSize ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const staleAfterMs = Math.max(options.staleAfterMs ?? 60_000, 2 * heartbeatMs);
  const running = new Set<Promise<void>>();
  /** Runs executing in this process, by `<environment>/<id>`. */
  const active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const swept = new Map<string, Promise<unknown>>();
  const runKey = (environment: string, id: string) => `${environment}/${id}`;

  const execute = async (
    record: RunRecord,
    deployment: Engine,
    progress: Progress,
    signal: AbortSignal,
  ): Promise<RunRecord> => {
    const spec = deployment.graph.resolvers.find((resolver) => resolver.fqn === record.resolver_fqn)!;
    const index = indexGraph(deployment.graph);
    const namespace = index.namespaces.get(spec.namespace)!;
    const featureTime = namespace.featureTime;
    const primaryKey = namespace.primaryKey;
    const online = new Map<string, number | undefined>();
    for (const feature of index.features.values()) {
      if (feature.kind !== 'scalar' || feature.namespace !== spec.namespace) continue;
      if (feature.etlOfflineToOnline && feature.maxStalenessS !== 0 && feature.storeOnline)
        online.set(feature.fqn, feature.maxStalenessS === null ? undefined : feature.maxStalenessS * 1000);
    }
    const offlineFeatures = new Set(
      [...index.features.values()].flatMap((f) => (f.kind === 'scalar' && f.storeOffline ? [f.fqn] : [])),
    );
    const now = clock();
    let chunk = 0;
    const publish = async (batch: readonly Record<string, unknown>[]) => {
      const offlineValues: ResultValue[] = [];
      const onlineValues: ResultValue[] = [];
      for (const row of batch) {
        const pkey = row[primaryKey];
        if (pkey == null) continue;
        const at = featureTime === undefined ? undefined : row[featureTime];
        const observedAt = at == null ? now.getTime() : new Date(at as string | number | Date).getTime();
        for (const [fqn, raw] of Object.entries(row)) {
          if (fqn === primaryKey || fqn === featureTime) continue;
          const value = raw instanceof Date ? raw.toISOString() : raw;
          const base = { feature: fqn, pkey: String(pkey), value, observedAt, resolver: spec.fqn };
          if (record.store_offline && offlineFeatures.has(fqn)) offlineValues.push(base);
          if (record.store_online && online.has(fqn)) {
            // Online freshness (max_staleness) counts from when the value was computed, as for values the
            // engine caches itself; the offline copy keeps the feature time.
            const ttlMs = online.get(fqn);
            const fresh = { ...base, observedAt: now.getTime() };
            onlineValues.push(ttlMs === undefined ? fresh : { ...fresh, ttlMs });
          }
        }
      }
      const message = (values: ResultValue[], kind: 'offline' | 'online') => ({
        version: 1 as const,
        environment: record.environment,
        operationId: `run:${record.id}:${chunk}:${kind}`,
        operationKind: 'UPLOAD_FEATURES' as const,
        deploymentId: deployment.deploymentId,
        insertedAt: clock().getTime(),
        values,
        writeOnline: kind === 'online',
        writeOffline: kind === 'offline',
      });
      // A batch is published whole: the signal is only looked at between batches. A run waits for room
      // as long as it takes (it is a background job: nobody to answer 503 to).
      const wait = { maxBlockMs: Number.POSITIVE_INFINITY };
      if (offlineValues.length > 0) await options.publisher.publish(message(offlineValues, 'offline'), wait);
      if (onlineValues.length > 0) await options.publisher.publish(message(onlineValues, 'online'), wait);
      progress.values += offlineValues.length + onlineValues.length;
      progress.rows += batch.length;
      chunk++;
    };
    const limit = record.max_samples ?? Number.POSITIVE_INFINITY;
    const take = (batch: readonly Record<string, unknown>[]) =>
      batch.slice(0, Math.max(0, limit - progress.rows));

    const incremental = spec.sql?.incremental;
    const state = incremental
      ? await options.store.incrementalState(record.environment, spec.fqn)
      : { high_water: null, last_execution_at: null };
    const byExecution = incremental?.timestamp === 'resolver_execution_time';
    const markFrom = byExecution ? state.last_execution_at : state.high_water;
    progress.markFrom = markFrom;
    const keepsState = record.lower_bound === null && record.upper_bound === null;
    let highWater: unknown = state.high_water === null ? null : parseWater(state.high_water);
    let complete = true;
    if (spec.sql) {
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
        now,
        boundColumn: incremental?.mode === 'row' ? incremental.column : featureTimeColumn,
        lowerBound: record.lower_bound === null ? undefined : new Date(record.lower_bound),
        upperBound: record.upper_bound === null ? undefined : new Date(record.upper_bound),
        after: parameterMode ? undefined : after,
        ...(parameterMode
          ? {
              incrementalTimestamp:
                record.lower_bound !== null ? new Date(record.lower_bound) : asDate(after),
              lastExecutionTimestamp: asDate(lastExecution),
            }
          : {}),
        pageSize: chunkSize,
        signal,
      })) {
        const batch = take(page.rows);
        await publish(batch);
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
        if (progress.rows >= limit) {
          complete = false;
          break;
        }
      }
    } else {
      const runtime = deployment.runtime;
      if (!runtime)
        throw new SlateError('unavailable', 'RUNTIME_UNAVAILABLE', 'the deployment has no runtime');
      const [outcome] = await runtime.call(
        {
          resolver: spec.fqn,
          rows: [{}],
          context: {
            now,
            environment: record.environment,
            deploymentId: deployment.deploymentId,
            tags: [],
            queryContext: {},
          },
          timeoutMs: spec.timeoutMs,
        },
        signal,
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
      for (let i = 0; i < entities.length && progress.rows < limit; i += chunkSize) {
        signal.throwIfAborted();
        await publish(take(entities.slice(i, i + chunkSize)));
      }
    }
    await options.publisher.flush();
    let markTo = markFrom;
    // A bounded run (a backfill of a window) reads around the feed, not along it: the state stays.
    const bounded = record.lower_bound !== null || record.upper_bound !== null;
    if (!incremental || bounded) progress.mark = null;
    else if (complete) {
      const reached = byExecution ? now.toISOString() : highWater === null ? null : serializeWater(highWater);
      await options.store.setIncrementalState(record.environment, spec.fqn, {
        high_water: highWater === null ? state.high_water : serializeWater(highWater),
        last_execution_at: now.toISOString(),
      });
      markTo = reached ?? markFrom;
    } else if (progress.mark !== null) {
      await saveMark(record, spec.fqn, state, progress.mark);
      markTo = progress.mark;
    }
    progress.mark = null;
    return {
      ...record,
      status: 'succeeded',
      finished_at: clock().toISOString(),
      rows: progress.rows,
      values: progress.values,
      high_water_from: markFrom,
      high_water_to: markTo,
    };
  };

  const saveMark = (record: RunRecord, fqn: string, state: IncrementalState, mark: string) =>
    options.store.setIncrementalState(record.environment, fqn, { ...state, high_water: mark });

  const runInBackground = (record: RunRecord) => {
    const controller = new AbortController();
    const progress: Progress = { rows: 0, values: 0, mark: null, markFrom: null };
    let current: RunRecord = record;
    let closed = false;
    let writes = Promise.resolve();
    /** Record writes in order; once the run has ended only its final record is written. */
    const save = (next: RunRecord, final = false) => {
      writes = writes
        .then(async () => {
          if (closed && !final) return;
          await options.store.put(next);
        })
        .catch((error: unknown) =>
          options.logger?.error({ run_id: record.id, err: error }, 'run record not saved'),
        );
      return writes;
    };
    const checkCancel = async () => {
      const requested = await options.store.cancelRequested(record.environment, record.id).catch(() => null);
      if (requested && !controller.signal.aborted) controller.abort(new RunCanceled(requested));
    };
    const beat = setInterval(() => {
      if (closed) return;
      void checkCancel();
      current = {
        ...current,
        heartbeat_at: clock().toISOString(),
        rows: progress.rows,
        values: progress.values,
      };
      void save(current);
    }, heartbeatMs);
    beat.unref?.();
    const done = (async () => {
      const started = clock().toISOString();
      current = { ...record, status: 'running', started_at: started, heartbeat_at: started };
      await save(current);
      await checkCancel();
      try {
        const finished = await options.served.withEngine(record.environment, ({ engine }) =>
          execute(current, engine, progress, controller.signal),
        );
        current = finished ?? {
          ...current,
          status: 'failed',
          finished_at: clock().toISOString(),
          error: 'the environment has no active deployment',
        };
      } catch (error) {
        const canceled = controller.signal.aborted;
        // What was published stays written: flush it, and keep a row-mode mark that covers it.
        await options.publisher.flush().catch(() => undefined);
        let markTo = progress.markFrom;
        if (progress.mark !== null) {
          const state = await options.store.incrementalState(record.environment, record.resolver_fqn);
          await saveMark(record, record.resolver_fqn, state, progress.mark);
          markTo = progress.mark;
        }
        const reason = controller.signal.reason;
        current = {
          ...current,
          status: canceled ? 'canceled' : 'failed',
          finished_at: clock().toISOString(),
          rows: progress.rows,
          values: progress.values,
          high_water_from: progress.markFrom,
          high_water_to: markTo,
          cancel_requested_at: reason instanceof RunCanceled ? reason.at : current.cancel_requested_at,
          error: canceled ? null : error instanceof Error ? error.message : String(error),
        };
        if (!canceled)
          options.logger?.warn(
            { run_id: record.id, resolver: record.resolver_fqn, err: error },
            'run failed',
          );
      }
      closed = true;
      clearInterval(beat);
      await save(current, true);
    })().catch((error: unknown) =>
      options.logger?.error({ run_id: record.id, err: error }, 'run record not saved'),
    );
    active.set(runKey(record.environment, record.id), { controller, done });
    running.add(done);
    void done.finally(() => {
      running.delete(done);
      active.delete(runKey(record.environment, record.id));
    });
  };

  /** Marks a run abandoned by a stopped data plane `failed`; any other run comes back as it is. */
  const recoverIfStale = async (record: RunRecord): Promise<RunRecord> => {
    if (FINISHED.has(record.status) || active.has(runKey(record.environment, record.id))) return record;
    const lastSign = record.heartbeat_at ?? record.started_at ?? record.created_at;
    if (clock().getTime() - Date.parse(lastSign) <= staleAfterMs) return record;
    const failed: RunRecord = {
      ...record,
      status: 'failed',
      finished_at: clock().toISOString(),
      error: `RUN_ABANDONED: no heartbeat since ${lastSign}: the data plane running it stopped. Batches it published stay written; its incremental mark did not move, so the next run starts where it started.`,
    };
    await options.store.put(failed);
    options.logger?.warn(
      { run_id: record.id, resolver: record.resolver_fqn, since: lastSign },
      'run abandoned',
    );
    return failed;
  };

  const recover = async (environment: string) => {
    const recovered: RunRecord[] = [];
    for (const status of ['running', 'received'] as const) {
      let cursor: string | undefined;
      do {
        const page = await options.store.page(environment, { status, limit: 1_000, cursor });
        for (const record of page.runs) {
          const after = await recoverIfStale(record);
          if (after !== record) recovered.push(after);
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    }
    return recovered;
  };
  /** Sweeps an environment once per process, on first use (a restarted data plane finds what it left). */
  const sweep = (environment: string) => {
    let done = swept.get(environment);
    if (!done) {
      done = recover(environment).catch((error: unknown) => {
        swept.delete(environment);
        options.logger?.warn({ environment, err: error }, 'abandoned runs not recovered');
      });
      swept.set(environment, done);
    }
    return done;
  };

  /** The active deployment's resolver, which must be incremental. */
  const incrementalSpec = (environment: string, fqn: string) => {
    const deployment = options.served.get(environment)?.deployment;
    if (!deployment)
      throw new SlateError(
        'not_found',
        'ENVIRONMENT_NOT_FOUND',
        `environment ${environment} has no active deployment here`,
      );
    const spec = deployment.engine.graph.resolvers.find((resolver) => resolver.fqn === fqn);
    if (!spec)
      throw new SlateError(
        'not_found',
        'RESOLVER_NOT_FOUND',
        `resolver ${fqn} is not in the active deployment ${deployment.id}`,
      );
    if (!spec.sql?.incremental)
      throw new SlateError('input', 'NOT_INCREMENTAL', `resolver ${fqn} has no incremental settings`);
    return spec;
  };

  const get = async (environment: string, id: string) => {
    const record = await options.store.get(environment, id);
    return record ? recoverIfStale(record) : null;
  };

  return {
    async trigger(input) {
      const message = RunTriggerMessageSchema.parse(input);
      const environment = options.served.get(message.environment);
      const deployment = environment?.deployment;
      if (!environment || !deployment)
        throw new SlateError(
          'not_found',
          'ENVIRONMENT_NOT_FOUND',
          `environment ${message.environment} has no active deployment here`,
        );
      const spec = deployment.engine.graph.resolvers.find(
        (resolver) => resolver.fqn === message.resolver_fqn,
      );
      if (!spec)
        throw new SlateError(
          'not_found',
          'RESOLVER_NOT_FOUND',
          `resolver ${message.resolver_fqn} is not in the active deployment ${deployment.id}`,
        );
      checkRunnable(spec);
      await sweep(message.environment);
      const id = `run_${randomUUID().replaceAll('-', '')}`;
      if (message.idempotency_key) {
        const holder = await options.store.claimKey(message.environment, message.idempotency_key, id);
        if (holder !== id) {
          const existing = await get(message.environment, holder);
          if (existing) return existing;
        }
      }
      const record: RunRecord = {
        id,
        environment: message.environment,
        resolver_fqn: spec.fqn,
        deployment_id: deployment.id,
        trigger: message.trigger,
        status: 'received',
        lower_bound: message.lower_bound ?? null,
        upper_bound: message.upper_bound ?? null,
        max_samples: message.max_samples ?? null,
        idempotency_key: message.idempotency_key ?? null,
        store_online: message.store_online ?? true,
        store_offline: message.store_offline ?? true,
        created_at: clock().toISOString(),
        started_at: null,
        finished_at: null,
        rows: 0,
        values: 0,
        high_water_from: null,
        high_water_to: null,
        error: null,
        heartbeat_at: null,
        cancel_requested_at: null,
      };
      await options.store.put(record);
      runInBackground(record);
      return record;
    },
    get,
    async list(environment, limit) {
      await sweep(environment);
      return options.store.list(environment, limit);
    },
    async page(environment, query) {
      await sweep(environment);
      return options.store.page(environment, query);
    },
    async cancel(environment, id) {
      const record = await get(environment, id);
      if (!record) throw new SlateError('not_found', 'RUN_NOT_FOUND', `no run ${id} in this environment`);
      if (FINISHED.has(record.status))
        throw new SlateError(
          'conflict',
          'RUN_ALREADY_FINISHED',
          `run ${id} has already ${record.status === 'canceled' ? 'been canceled' : record.status}`,
        );
      const at = clock().toISOString();
      await options.store.requestCancel(environment, id, at);
      const local = active.get(runKey(environment, id));
      if (!local) return { ...record, cancel_requested_at: record.cancel_requested_at ?? at };
      if (!local.controller.signal.aborted) local.controller.abort(new RunCanceled(at));
      await local.done;
      return (await options.store.get(environment, id)) ?? record;
    },
    async incrementalState(environment, fqn) {
      incrementalSpec(environment, fqn);
      return options.store.incrementalState(environment, fqn);
    },
    async setIncrementalState(environment, fqn, input) {
      incrementalSpec(environment, fqn);
      const request = IncrementalStateRequestSchema.parse(input);
      const current = await options.store.incrementalState(environment, fqn);
      const next: IncrementalState = {
        high_water:
          request.high_water === undefined
            ? current.high_water
            : request.high_water === null
              ? null
              : typeof request.high_water === 'number'
                ? JSON.stringify(request.high_water)
                : new Date(request.high_water).toISOString(),
        last_execution_at:
          request.last_execution_at === undefined
            ? current.last_execution_at
            : request.last_execution_at === null
              ? null
              : new Date(request.last_execution_at).toISOString(),
      };
      await options.store.setIncrementalState(environment, fqn, next);
      return next;
    },
    async dropIncrementalState(environment, fqn) {
      incrementalSpec(environment, fqn);
      await options.store.dropIncrementalState(environment, fqn);
    },
    recover,
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}

/** The abort reason of a canceled run. */
class RunCanceled extends Error {
  constructor(readonly at: string) {
    super('the run was canceled');
    this.name = 'AbortError';
  }
}

/** Runs read every entity: a SQL resolver keyed by the primary key or returning all rows, or a data frame. */
function checkRunnable(spec: ResolverSpec): void {
  if (spec.stream)
    throw new SlateError('input', 'INVALID_RUN', `${spec.fqn} is a streaming resolver: it runs on its topic`);
  if (spec.sql && (spec.sql.keyColumn !== undefined || spec.dataframe !== undefined)) return;
  if (!spec.sql && spec.dataframe !== undefined && spec.inputs.length === 0) return;
  throw new SlateError(
    'input',
    'INVALID_RUN',
    `resolver ${spec.fqn} needs inputs: only SQL resolvers and input-less data-frame resolvers run in batch`,
  );
}

/** High-water marks are stored as text: ISO timestamps for dates, else the value as JSON. */
function serializeWater(value: unknown): string {
  return value instanceof Date ? value.toISOString() : JSON.stringify(value);
}

/** A stored mark as a value: a Date for ISO text, else the JSON value. */
function parseWater(stored: string): unknown {
  if (/^\d{4}-\d\d-\d\dT/.test(stored)) return new Date(Date.parse(stored));
  try {
    return JSON.parse(stored) as unknown;
  } catch {
    return stored;
  }
}

function lookBack(stored: string, lookbackS: number): unknown {
  const value = parseWater(stored);
  if (value instanceof Date) return new Date(value.getTime() - lookbackS * 1000);
  return typeof value === 'number' ? value - lookbackS : value;
}

function asDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  return value instanceof Date ? value : new Date(value as string | number);
}

/** Orders marks: times by instant, numbers numerically, anything else as text. */
function compareWater(a: unknown, b: unknown): number {
  const key = (v: unknown) =>
    v instanceof Date
      ? v.getTime()
      : typeof v === 'number' || typeof v === 'bigint'
        ? Number(v)
        : typeof v === 'string' && /^\d{4}-\d\d-\d\d/.test(v)
          ? Date.parse(v)
          : String(v);
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
