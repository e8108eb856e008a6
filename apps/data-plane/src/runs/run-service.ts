import { randomUUID } from 'node:crypto';
import { type Engine, indexGraph, type SqlSources, scanSqlResolver } from '@slate/engine';
import { type ResolverSpec, SlateError } from '@slate/graph';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultValue } from '../persistence/result-message.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { type RunRecord, type RunTriggerMessage, RunTriggerMessageSchema } from './run-record.ts';
import type { RunStore } from './run-store.ts';

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
  get(environment: string, id: string): Promise<RunRecord | null>;
  list(environment: string, limit?: number): Promise<RunRecord[]>;
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
}

/**
 * Creates the run service. A run reads every entity a resolver returns in batch — a SQL resolver over its
 * data source (bounded by `lower_bound`/`upper_bound` on its incremental or feature-time column; an
 * incremental resolver after the persisted high-water mark, less its lookback, when no lower bound is
 * given), or an input-less data-frame resolver through the deployment's runtime — and publishes the values
 * to the result bus: every value offline (`store_offline`, default true), and online (`store_online`,
 * default true) the features with `etlOfflineToOnline` and a non-zero `maxStaleness`, as the seed product
 * does. Result messages carry deterministic ids (`run:<id>:<chunk>:…`), so a redelivery is written once.
 * The high-water mark advances only after a run succeeded.
 *
 * @example
 * const runs = createRunService({ served, store: createObjectRunStore(objectStore), publisher, sqlSources: (env) => registry.sourcesFor(env) });
 * const { id } = await runs.trigger({ resolver_fqn: 'users', environment: 'env-1', trigger: 'API' });
 */
export function createRunService(options: RunServiceOptions): RunService {
  const clock = options.clock ?? (() => new Date());
  const chunkSize = options.chunkSize ?? 5_000;
  const running = new Set<Promise<void>>();

  const execute = async (record: RunRecord, deployment: Engine): Promise<RunRecord> => {
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
    let rows = 0;
    let published = 0;
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
      if (offlineValues.length > 0) await options.publisher.publish(message(offlineValues, 'offline'));
      if (onlineValues.length > 0) await options.publisher.publish(message(onlineValues, 'online'));
      published += offlineValues.length + onlineValues.length;
      chunk++;
    };
    const limit = record.max_samples ?? Number.POSITIVE_INFINITY;
    const take = (batch: readonly Record<string, unknown>[]) => batch.slice(0, Math.max(0, limit - rows));

    let highWaterFrom: string | null = null;
    let highWaterTo: string | null = null;
    if (spec.sql) {
      const environment = options.served.get(record.environment)!;
      const incremental = spec.sql.incremental;
      const stored = incremental ? await options.store.highWater(record.environment, spec.fqn) : null;
      highWaterFrom = stored;
      const after =
        incremental && stored !== null && record.lower_bound === null
          ? lookBack(stored, incremental.lookbackS)
          : undefined;
      const boundColumn =
        incremental?.column ??
        spec.outputs.find(
          (output) => output.fqn === featureTime || output.param === featureTime?.split('.')[1],
        )?.param;
      let highWater: unknown = null;
      for await (const page of scanSqlResolver(spec, options.sqlSources(environment), {
        now,
        boundColumn,
        lowerBound: record.lower_bound === null ? undefined : new Date(record.lower_bound),
        upperBound: record.upper_bound === null ? undefined : new Date(record.upper_bound),
        after,
        pageSize: chunkSize,
      })) {
        const batch = take(page.rows);
        await publish(batch);
        rows += batch.length;
        highWater = page.highWater;
        if (rows >= limit) break;
      }
      if (incremental && highWater != null) highWaterTo = serializeWater(highWater);
      else highWaterTo = highWaterFrom;
    } else {
      const runtime = deployment.runtime;
      if (!runtime)
        throw new SlateError('unavailable', 'RUNTIME_UNAVAILABLE', 'the deployment has no runtime');
      const [outcome] = await runtime.call({
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
      });
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
      for (let i = 0; i < entities.length && rows < limit; i += chunkSize) {
        const batch = take(entities.slice(i, i + chunkSize));
        await publish(batch);
        rows += batch.length;
      }
    }
    await options.publisher.flush();
    if (spec.sql?.incremental && highWaterTo !== null && highWaterTo !== highWaterFrom)
      await options.store.setHighWater(record.environment, spec.fqn, highWaterTo);
    return {
      ...record,
      status: 'succeeded',
      finished_at: clock().toISOString(),
      rows,
      values: published,
      high_water_from: highWaterFrom,
      high_water_to: highWaterTo,
    };
  };

  const runInBackground = (record: RunRecord) => {
    const done = (async () => {
      let current: RunRecord = { ...record, status: 'running', started_at: clock().toISOString() };
      await options.store.put(current);
      try {
        const finished = await options.served.withEngine(record.environment, ({ engine }) =>
          execute(current, engine),
        );
        current = finished ?? {
          ...current,
          status: 'failed',
          error: 'the environment has no active deployment',
        };
      } catch (error) {
        current = {
          ...current,
          status: 'failed',
          finished_at: clock().toISOString(),
          error: error instanceof Error ? error.message : String(error),
        };
        options.logger?.warn({ run_id: record.id, resolver: record.resolver_fqn, err: error }, 'run failed');
      }
      await options.store.put(current);
    })().catch((error: unknown) =>
      options.logger?.error({ run_id: record.id, err: error }, 'run record not saved'),
    );
    running.add(done);
    void done.finally(() => running.delete(done));
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
      const id = `run_${randomUUID().replaceAll('-', '')}`;
      if (message.idempotency_key) {
        const holder = await options.store.claimKey(message.environment, message.idempotency_key, id);
        if (holder !== id) {
          const existing = await options.store.get(message.environment, holder);
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
      };
      await options.store.put(record);
      runInBackground(record);
      return record;
    },
    get: (environment, id) => options.store.get(environment, id),
    list: (environment, limit) => options.store.list(environment, limit),
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
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

function lookBack(stored: string, lookbackS: number): unknown {
  if (/^\d{4}-\d\d-\d\dT/.test(stored)) return new Date(Date.parse(stored) - lookbackS * 1000);
  const value = JSON.parse(stored) as unknown;
  return typeof value === 'number' ? value - lookbackS : value;
}
