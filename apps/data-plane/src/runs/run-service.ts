import { randomUUID } from 'node:crypto';
import type { SqlSources } from '@slate/engine';
import { type ResolverSpec, SlateError } from '@slate/graph';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import { createIncrementalStateApi } from './incremental-state-api.ts';
import { createRunExecutor } from './run-executor.ts';
import { createRunLifecycle } from './run-lifecycle.ts';
import {
  type IncrementalStateRequest,
  type RunListQuery,
  type RunPage,
  type RunRecord,
  type RunStatus,
  type RunTriggerMessage,
  type RunTriggerMessageOutput,
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
  /**
   * A run; one left `running` by a replica that stopped (see `staleAfterMs`) is taken over first (when this
   * replica wins its lease), or marked `failed` after its last attempt.
   */
  get(environment: string, id: string): Promise<RunRecord | null>;
  /** Newest first, at most `limit` (stale runs taken over first). */
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
  /**
   * Takes over the environment's runs whose replica stopped (or fails them after their last attempt),
   * among those in the store's index of unfinished runs: `jobs` replicas call it periodically (the first
   * use of an environment in a process looks at every unfinished run). Answers the runs it changed.
   */
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
   * that this process is not running, was left by a replica that stopped: it is taken over (or failed
   * with `RUN_ABANDONED`) when read or swept. Also the run's lease time. Default 60 s, at least twice
   * `heartbeatMs`.
   */
  readonly staleAfterMs?: number;
  /** Attempts a run may get, the first and its take-overs, before it is failed `RUN_ABANDONED` (default 3). */
  readonly maxAttempts?: number;
  /** Resume runs whose replica stopped (default true); false fails them `RUN_ABANDONED` at once. */
  readonly resume?: boolean;
  /**
   * Claims or renews a run's lease among the replicas (the metadata plane's job lease, in PostgreSQL):
   * only the replica granted it takes a stale run over. Default: none (a single data plane process).
   */
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** This replica's instance id, shown in the records of the runs it runs (default null). */
  readonly instance?: string;
}

const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Creates the run service: the API over three parts — `createRunExecutor` (reading the resolver; see
 * there for bounds and incremental marks), `createRunOutput` (result messages, idempotent per run id and
 * batch) and `createRunLifecycle` (lease, heartbeat, checkpoint, take-over, cancel). A run reads every
 * entity a resolver returns in batch and publishes the values to the result bus: every value offline
 * (`store_offline`, default true), and online (`store_online`, default true) the features with
 * `etlOfflineToOnline` and a non-zero `maxStaleness`, as the seed product does.
 *
 * A run whose replica stops is resumed by another replica of the same data plane (ADR 0003): the one
 * granted its lease reads what the first attempt read and publishes from its checkpoint on under the
 * same message ids, so the stores get every value once; after `maxAttempts` it is failed `RUN_ABANDONED`.
 *
 * @example
 * const runs = createRunService({ served, store: createObjectRunStore(objectStore), publisher, sqlSources: (env) => registry.sourcesFor(env) });
 * const { id } = await runs.trigger({ resolver_fqn: 'users', environment: 'env-1', trigger: 'API' });
 */
export function createRunService(options: RunServiceOptions): RunService {
  const clock = options.clock ?? (() => new Date());
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const staleAfterMs = Math.max(options.staleAfterMs ?? 60_000, 2 * heartbeatMs);
  const swept = new Map<string, Promise<unknown>>();
  const lifecycle = createRunLifecycle({
    served: options.served,
    store: options.store,
    publisher: options.publisher,
    execute: createRunExecutor({
      served: options.served,
      store: options.store,
      publisher: options.publisher,
      sqlSources: options.sqlSources,
      clock,
      chunkSize: options.chunkSize ?? 5_000,
    }),
    clock,
    logger: options.logger,
    heartbeatMs,
    staleAfterMs,
    maxAttempts: Math.max(1, options.maxAttempts ?? 3),
    resume: options.resume ?? true,
    claim: options.claim,
    instance: options.instance ?? null,
  });

  /** Looks at each run and takes over (or fails) the stale ones; answers the runs it changed. */
  const recoverEach = async (records: Iterable<RunRecord>, recovered: RunRecord[]) => {
    for (const record of records) {
      const after = await lifecycle.recoverIfStale(record);
      if (after !== record) recovered.push(after);
    }
    return recovered;
  };
  /** The periodic look: only the runs in the store's index of unfinished runs. */
  const recover = async (environment: string) => recoverEach(await options.store.unfinished(environment), []);
  /** The first look after a start: every `running`/`received` run (runs of earlier versions have no index entry). */
  const recoverAll = async (environment: string) => {
    const recovered: RunRecord[] = [];
    for (const status of ['running', 'received'] as const) {
      let cursor: string | undefined;
      do {
        const page = await options.store.page(environment, { status, limit: 1_000, cursor });
        await recoverEach(page.runs, recovered);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    }
    return recovered;
  };
  /** Sweeps an environment once per process, on first use (a restarted data plane finds what it left). */
  const sweep = (environment: string) => {
    let done = swept.get(environment);
    if (!done) {
      done = recoverAll(environment).catch((error: unknown) => {
        swept.delete(environment);
        options.logger?.warn({ environment, err: error }, 'abandoned runs not recovered');
      });
      swept.set(environment, done);
    }
    return done;
  };

  const get = async (environment: string, id: string) => {
    const record = await options.store.get(environment, id);
    return record ? lifecycle.recoverIfStale(record) : null;
  };

  return {
    async trigger(input) {
      const message = RunTriggerMessageSchema.parse(input);
      const { spec, deployment } = resolverOf(options.served, message);
      await sweep(message.environment);
      const id = `run_${randomUUID().replaceAll('-', '')}`;
      if (message.idempotency_key) {
        const holder = await options.store.claimKey(message.environment, message.idempotency_key, id);
        if (holder !== id) {
          const existing = await get(message.environment, holder);
          if (existing) return existing;
        }
      }
      const record = receivedRecord(id, message, spec.fqn, deployment.id, clock(), options.instance ?? null);
      await options.store.put(record);
      lifecycle.start(record);
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
      if (!(await lifecycle.cancelLocal(environment, id, at)))
        return { ...record, cancel_requested_at: record.cancel_requested_at ?? at };
      return (await options.store.get(environment, id)) ?? record;
    },
    ...createIncrementalStateApi(options.served, options.store),
    recover,
    idle: () => lifecycle.idle(),
  };
}

/**
 * The active deployment's resolver a trigger names, which must be runnable in batch.
 *
 * @throws SlateError `ENVIRONMENT_NOT_FOUND`, `RESOLVER_NOT_FOUND` (not_found), `INVALID_RUN` (input).
 */
function resolverOf(served: ServedEnvironments, message: RunTriggerMessageOutput) {
  const deployment = served.get(message.environment)?.deployment;
  if (!deployment)
    throw new SlateError(
      'not_found',
      'ENVIRONMENT_NOT_FOUND',
      `environment ${message.environment} has no active deployment here`,
    );
  const spec = deployment.engine.graph.resolvers.find((resolver) => resolver.fqn === message.resolver_fqn);
  if (!spec)
    throw new SlateError(
      'not_found',
      'RESOLVER_NOT_FOUND',
      `resolver ${message.resolver_fqn} is not in the active deployment ${deployment.id}`,
    );
  checkRunnable(spec);
  return { spec, deployment };
}

/** A new run's record, as first stored. */
function receivedRecord(
  id: string,
  message: RunTriggerMessageOutput,
  resolverFqn: string,
  deploymentId: string,
  now: Date,
  instance: string | null,
): RunRecord {
  return {
    id,
    environment: message.environment,
    resolver_fqn: resolverFqn,
    deployment_id: deploymentId,
    trigger: message.trigger,
    status: 'received',
    lower_bound: message.lower_bound ?? null,
    upper_bound: message.upper_bound ?? null,
    max_samples: message.max_samples ?? null,
    idempotency_key: message.idempotency_key ?? null,
    store_online: message.store_online ?? true,
    store_offline: message.store_offline ?? true,
    created_at: now.toISOString(),
    started_at: null,
    finished_at: null,
    rows: 0,
    values: 0,
    high_water_from: null,
    high_water_to: null,
    error: null,
    heartbeat_at: null,
    cancel_requested_at: null,
    attempt: 1,
    instance,
    chunks: 0,
    scan_at: null,
    incremental_start: null,
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
