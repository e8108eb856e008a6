import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Engine, SqlSources } from '@slate/engine';
import { type ScalarFeatureSpec, SlateError } from '@slate/graph';
import { jsonToColumnSql, type ObjectStore, type OfflineStore, type SampledFeature } from '@slate/stores';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { ResultPublisher } from '../persistence/result-publisher.ts';
import {
  INPUT_TIME_COLUMNS,
  type OfflineQueryRequest,
  OfflineQueryRequestSchema,
} from './offline-query-request.ts';
import { runSpineSql } from './spine-sql.ts';

/** A dataset revision's state, as stored (JSON in the `dataset` bucket) and reported. */
export interface RevisionRecord {
  readonly revision_id: string;
  readonly dataset_id: string;
  readonly dataset_name: string | null;
  readonly environment_id: string;
  readonly creator_id: string;
  readonly deployment_id: string | null;
  status: 'QUEUED' | 'WORKING' | 'COMPLETED' | 'FAILED';
  readonly outputs: string[];
  readonly created_at: string;
  started_at: string | null;
  terminated_at: string | null;
  heartbeat_at: string;
  errors: { code: string; category: 'REQUEST' | 'FIELD'; message: string; feature?: string }[];
  num_partitions: number;
  output_keys: string[];
  num_bytes: number;
  num_rows: number;
  columns: { feature_fqn: string; column_name: string; dtype: string }[];
  /** 1 for the first run; each take-over after a lost heartbeat adds one. Absent in older records (= 1). */
  attempt?: number;
  /** Which run of this revision may write it (a fresh id per attempt); a superseded run stops. */
  owner?: string;
}

export interface OfflineQueryServiceOptions {
  readonly served: ServedEnvironments;
  readonly offlineStore: OfflineStore;
  /** Holds revisions and their Parquet results (the `dataset` bucket). */
  readonly objectStore: ObjectStore;
  /** Where recomputed values go when `store_online` / `store_offline` is asked. */
  readonly publisher?: ResultPublisher;
  /** Told every time a revision's record is saved (status changes). */
  readonly onRevision?: (record: RevisionRecord) => void;
  readonly logger?: Logger;
  /** A running job that has not heart-beaten for this long is taken over (re-run) or failed. Default 60 s. */
  readonly heartbeatTimeoutMs?: number;
  /** Runs a revision may get (the first and take-overs after lost heartbeats) before it fails. Default 3. */
  readonly maxAttempts?: number;
  /** The environment's named SQL data sources, for `spine_sql_query`. Without it spine queries are refused. */
  readonly sqlSources?: (environment: { id: string; name: string }) => SqlSources;
  readonly now?: () => number;
  /**
   * Claims the take-over of a job among the replicas (the metadata plane's lease, in PostgreSQL): only the
   * replica granted it re-runs the job. Default: always granted (a single data plane process).
   */
  readonly claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
}

/** Runs offline queries as background jobs and reports on their dataset revisions. */
export interface OfflineQueryService {
  /** Validates the request, records a queued revision, starts the job and returns the revision at once. */
  submit(environmentId: string, creator: string, request: OfflineQueryRequest): Promise<RevisionRecord>;
  /**
   * The revision's current state; `null` when unknown. A job whose heartbeat stopped (its data plane died)
   * is re-run from scratch here, or reported failed (`HEARTBEAT_LOST`) once its attempts are used up.
   */
  revision(environmentId: string, revisionId: string): Promise<RevisionRecord | null>;
  /**
   * Finds revisions left QUEUED/WORKING by a data plane that stopped (heartbeat older than the timeout)
   * and re-runs them from scratch — jobs are deterministic and write their output under fixed keys — or
   * fails them with `HEARTBEAT_LOST` after `maxAttempts`. Environments without an active deployment are
   * left for a later call. Call it at start (once deployments are loaded) and periodically. Resolves with
   * the number of revisions taken over (re-run or failed).
   */
  recover(): Promise<number>;
  /** The bytes of one result part. */
  part(environmentId: string, revisionId: string, part: number): Promise<Uint8Array | null>;
  /** Resolves once every running job has ended (for shutdown and tests). */
  idle(): Promise<void>;
}

const recordKey = (env: string, revision: string) => `offline-queries/${env}/revisions/${revision}.json`;
/** One small object per unfinished revision (its request), so recovery lists only what may need it. */
const JOBS_PREFIX = 'offline-query-jobs/';
const jobKey = (env: string, revision: string) => `${JOBS_PREFIX}${env}/${revision}.json`;
const finishedStatus = (status: RevisionRecord['status']) => status === 'COMPLETED' || status === 'FAILED';
const partKey = (env: string, revision: string, part: number) =>
  `offline-queries/${env}/revisions/${revision}/part-${part}.parquet`;

/**
 * Creates the offline-query service. Without `recompute_features` each output is sampled point-in-time
 * from the offline store by DuckDB straight into Parquet; with it (all outputs, or the listed ones) the
 * deployment's engine runs the resolvers for each row at its input time, preferring offline resolvers,
 * and the other outputs are sampled. The rows come from `input` (+ `input_times`) or from a
 * `spine_sql_query` run on one of the environment's SQL data sources (see `runSpineSql`). Results are one
 * Parquet part per revision in the `dataset` bucket: `__row__`, the primary key (named by its FQN),
 * `__ts__`, then each output and `<output>.__observed_at__`.
 *
 * Jobs survive their data plane: the request is kept beside the revision until it ends, a running job
 * heart-beats into its record, and `recover` (or reading the revision) re-runs a job whose heartbeat is
 * older than `heartbeatTimeoutMs` from scratch, up to `maxAttempts` runs, then fails it with
 * `HEARTBEAT_LOST`. Replicas racing to take over the same job settle it with `claim` (a lease held by one
 * replica); the winner re-reads the record and takes over only if it is still stale. Without `claim`
 * (or with object stores shared by unrelated data planes) each run also checks before it heart-beats and
 * before it writes that it still owns the revision, so a loser stops, and both would write the same
 * deterministic result anyway. With
 * `store_online` / `store_offline`, a re-run publishes its recomputed values again.
 *
 * Not supported (the revision fails with `INVALID_QUERY`): outputs of more than one namespace, has-many
 * outputs.
 */
export function createOfflineQueryService(options: OfflineQueryServiceOptions): OfflineQueryService {
  const now = options.now ?? Date.now;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 3;
  /** Records of the jobs this process runs (others are read from the object store). */
  const records = new Map<string, RevisionRecord>();
  const running = new Set<Promise<void>>();
  /** Revisions this process is taking over right now (no second take-over from a concurrent read). */
  const claiming = new Set<string>();
  const keyOf = (record: { environment_id: string; revision_id: string }) =>
    `${record.environment_id}/${record.revision_id}`;

  const save = async (record: RevisionRecord) => {
    options.onRevision?.(structuredClone(record));
    await options.objectStore.put(
      'dataset',
      recordKey(record.environment_id, record.revision_id),
      JSON.stringify(record),
      {
        contentType: 'application/json',
      },
    );
  };

  const stored = async (environmentId: string, revisionId: string): Promise<RevisionRecord | null> => {
    const bytes = await options.objectStore.get('dataset', recordKey(environmentId, revisionId));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as RevisionRecord) : null;
  };

  /** False once another run (a take-over elsewhere) has claimed the revision. */
  const stillOwned = async (record: RevisionRecord) =>
    (await stored(record.environment_id, record.revision_id))?.owner === record.owner;

  const fail = (record: RevisionRecord, error: unknown) => {
    record.status = 'FAILED';
    record.terminated_at = new Date(now()).toISOString();
    const slate = error instanceof SlateError ? error : undefined;
    record.errors.push({
      code: slate?.code ?? 'INTERNAL_SERVER_ERROR',
      category: 'REQUEST',
      message: slate?.message ?? `the offline query failed: ${(error as Error)?.message ?? String(error)}`,
    });
  };

  const finish = async (record: RevisionRecord) => {
    await save(record);
    await options.objectStore.delete('dataset', jobKey(record.environment_id, record.revision_id));
  };

  const run = async (record: RevisionRecord, request: OfflineQueryRequest) => {
    const abort = new AbortController();
    let superseded = false;
    record.status = 'WORKING';
    record.started_at = new Date(now()).toISOString();
    record.heartbeat_at = record.started_at;
    await save(record);
    const beat = setInterval(
      () => {
        void (async () => {
          if (superseded) return;
          if (!(await stillOwned(record))) {
            superseded = true;
            abort.abort();
            return;
          }
          record.heartbeat_at = new Date(now()).toISOString();
          await save(record);
        })().catch(() => {});
      },
      Math.max(1_000, heartbeatTimeoutMs / 6),
    );
    const work = await mkdtemp(join(tmpdir(), 'slate-offline-query-'));
    try {
      const answer = await options.served.withEngine(record.environment_id, (deployment) =>
        execute(record, request, deployment.engine, work, abort.signal),
      );
      if (answer === undefined)
        throw new SlateError(
          'unavailable',
          'NO_ACTIVE_DEPLOYMENT',
          `environment ${record.environment_id} has no active deployment`,
        );
      if (!(await stillOwned(record))) superseded = true;
      else {
        const bytes = await readFile(join(work, 'part-0.parquet'));
        const key = partKey(record.environment_id, record.revision_id, 0);
        await options.objectStore.put('dataset', key, bytes, {
          contentType: 'application/vnd.apache.parquet',
        });
        record.output_keys = [key];
        record.num_partitions = 1;
        record.num_bytes = bytes.length;
        record.status = 'COMPLETED';
        record.terminated_at = new Date(now()).toISOString();
      }
    } catch (error) {
      if (!superseded) {
        options.logger?.warn({ err: error, revision_id: record.revision_id }, 'offline query failed');
        fail(record, error);
      }
    } finally {
      clearInterval(beat);
      await rm(work, { recursive: true, force: true });
      // The in-memory record answers readers until the finished one is saved: forgetting it first would
      // send them to the stored WORKING record, whose download does not exist yet (DATASET_NOT_FOUND).
      try {
        // A run that lost its revision to a take-over leaves the record to the new owner.
        if (superseded || !(await stillOwned(record).catch(() => true)))
          options.logger?.info(
            { revision_id: record.revision_id },
            'offline query superseded by a take-over',
          );
        else await finish(record);
      } finally {
        records.delete(keyOf(record));
      }
    }
  };

  const start = (record: RevisionRecord, request: OfflineQueryRequest) => {
    records.set(keyOf(record), record);
    const job = run(record, request)
      .catch((error: unknown) =>
        // The record could not be saved (object store down): a later recover() re-runs or fails it.
        options.logger?.error(
          { err: error, revision_id: record.revision_id },
          'offline query record not saved',
        ),
      )
      .finally(() => running.delete(job));
    running.add(job);
  };

  /**
   * Re-runs a revision whose heartbeat stopped, or fails it when it cannot run again (attempts used up,
   * its request lost) — or, with `waitForDeployment`, leaves it while its environment has no deployment.
   */
  const takeOver = async (
    stale: RevisionRecord,
    waitForDeployment: boolean,
  ): Promise<RevisionRecord | 'skipped'> => {
    const key = keyOf(stale);
    if (claiming.has(key) || records.has(key)) return 'skipped';
    claiming.add(key);
    try {
      const hasDeployment = Boolean(options.served.get(stale.environment_id)?.deployment);
      if (!hasDeployment && waitForDeployment) return 'skipped';
      if (options.claim) {
        const ttlSeconds = Math.max(1, Math.ceil(heartbeatTimeoutMs / 1000));
        if (!(await options.claim(`offline-query:${key}`, ttlSeconds))) return 'skipped';
        // Granted: unless another replica already took it over (its record is fresh again, or has a new owner).
        const current = await stored(stale.environment_id, stale.revision_id);
        if (!current || !isStale(current) || current.owner !== stale.owner) return 'skipped';
      }
      const bytes = await options.objectStore.get('dataset', jobKey(stale.environment_id, stale.revision_id));
      const parsed = bytes
        ? OfflineQueryRequestSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')).request)
        : undefined;
      const attempt = (stale.attempt ?? 1) + 1;
      const lost = `the job stopped heart-beating for over ${heartbeatTimeoutMs / 1000} s`;
      if (!parsed?.success || attempt > maxAttempts || !hasDeployment) {
        const reason = !parsed?.success
          ? `${lost} and its request is gone, so it cannot be re-run`
          : attempt > maxAttempts
            ? `${lost} on each of its ${maxAttempts} attempts`
            : `${lost}, and environment ${stale.environment_id} has no active deployment to re-run it`;
        stale.owner = randomUUID();
        fail(stale, new SlateError('timeout', 'HEARTBEAT_LOST', reason));
        await finish(stale);
        return stale;
      }
      const at = new Date(now()).toISOString();
      const record: RevisionRecord = {
        ...stale,
        deployment_id: options.served.get(stale.environment_id)?.deployment?.id ?? stale.deployment_id,
        ...queuedAttempt(attempt, at),
      };
      options.logger?.warn(
        { revision_id: record.revision_id, attempt, last_heartbeat: stale.heartbeat_at },
        'offline query lost its heartbeat; re-running it',
      );
      await save(record);
      start(record, parsed.data);
      return record;
    } finally {
      claiming.delete(key);
    }
  };

  const isStale = (record: RevisionRecord) =>
    !finishedStatus(record.status) && now() - Date.parse(record.heartbeat_at) > heartbeatTimeoutMs;

  const execute = async (
    record: RevisionRecord,
    request: OfflineQueryRequest,
    engine: Engine,
    work: string,
    signal: AbortSignal,
  ) => {
    const { features, namespaces } = engine.planner.index;
    const outputs = [...new Set([...request.output, ...request.required_output])];
    if (request.spine_sql_query && request.input)
      throw new SlateError('input', 'INVALID_QUERY', 'give either input or spine_sql_query, not both');
    if (request.spine_sql_query && request.input_times)
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        "input_times goes with input; a spine query's rows take their time from its 'ts' column",
      );
    if (outputs.length === 0) throw new SlateError('input', 'INVALID_QUERY', 'the query names no outputs');
    const specs = outputs.map((fqn) => {
      const spec = features.get(fqn);
      if (!spec) throw new SlateError('input', 'INVALID_QUERY', `unknown feature '${fqn}'`);
      if (spec.kind !== 'scalar')
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          `'${fqn}' is not a scalar feature; offline queries return scalars`,
        );
      return spec;
    });
    const namespace = specs[0]!.namespace;
    if (specs.some((spec) => spec.namespace !== namespace))
      throw new SlateError('input', 'INVALID_QUERY', 'every output must belong to one namespace');
    const primaryKey = namespaces.get(namespace)!.primaryKey;

    let input = request.input ?? { columns: [], values: [] };
    if (request.spine_sql_query) {
      const environment = options.served.get(record.environment_id);
      if (!options.sqlSources || !environment)
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          'this data plane has no SQL data sources for spine_sql_query',
        );
      input = await runSpineSql(request.spine_sql_query, {
        sources: options.sqlSources(environment),
        primaryKey,
        features: new Set([...features.values()].filter((f) => f.namespace === namespace).map((f) => f.fqn)),
        maxSamples: request.max_samples,
        signal,
      });
    }
    const { columns, values } = input;
    const keyIndex = columns.indexOf(primaryKey);
    if (keyIndex < 0)
      throw new SlateError('input', 'INVALID_QUERY', `the input needs a '${primaryKey}' column`);
    let rows = values[keyIndex]!.length;
    if (values.some((column) => column.length !== rows))
      throw new SlateError('input', 'INVALID_QUERY', 'every input column needs the same number of rows');
    const timeIndex = columns.findIndex((c) => (INPUT_TIME_COLUMNS as readonly string[]).includes(c));
    const submitted = Date.parse(record.created_at);
    const timeOf = (row: number) => {
      const raw = request.input_times?.[row] ?? (timeIndex >= 0 ? values[timeIndex]![row] : undefined);
      if (raw === undefined || raw === null) return submitted;
      const t = typeof raw === 'number' ? raw : Date.parse(String(raw));
      if (!Number.isFinite(t))
        throw new SlateError('input', 'INVALID_QUERY', `invalid input time ${JSON.stringify(raw)}`);
      return t;
    };
    if (request.max_samples) rows = Math.min(rows, request.max_samples);
    const pkeys = values[keyIndex]!.slice(0, rows).map((k) => String(k));
    const times = Array.from({ length: rows }, (_, row) => timeOf(row));

    const recompute = new Set(
      request.recompute_features === true
        ? outputs
        : request.recompute_features === false
          ? []
          : request.recompute_features.filter((fqn) => outputs.includes(fqn)),
    );
    const sampled: SampledFeature[] = specs
      .filter((spec) => !recompute.has(spec.fqn))
      .map((spec) => ({
        fqn: spec.fqn,
        ttlMs: spec.offlineTtlS === null ? null : spec.offlineTtlS * 1000,
        dtype: spec.dtype,
      }));
    const bounds = {
      lowerBound: request.observed_at_lower_bound ? Date.parse(request.observed_at_lower_bound) : undefined,
      upperBound: request.observed_at_upper_bound ? Date.parse(request.observed_at_upper_bound) : undefined,
    };
    record.columns.push(
      { feature_fqn: primaryKey, column_name: primaryKey, dtype: dtypeName(features.get(primaryKey)) },
      ...specs.map((spec) => ({ feature_fqn: spec.fqn, column_name: spec.fqn, dtype: dtypeName(spec) })),
    );
    const output = join(work, 'part-0.parquet');

    if (recompute.size === 0) {
      const result = await options.offlineStore.sample(
        record.environment_id,
        {
          spine: { pkeys, times },
          features: sampled,
          ...bounds,
          output: { parquet: output, keyColumn: primaryKey },
        },
        signal,
      );
      record.num_rows = result.rowCount;
      return true;
    }

    // Recompute: the engine per distinct input time (its `now`), then merge with sampled outputs.
    const sample = await options.offlineStore.sample(
      record.environment_id,
      { spine: { pkeys, times }, features: sampled, ...bounds },
      signal,
    );
    const table = new Map<string, { values: unknown[]; observedAt: (number | null)[] }>(
      sample.columns.map((c) => [c.fqn, { values: c.values, observedAt: c.observedAt }]),
    );
    for (const fqn of recompute)
      table.set(fqn, { values: new Array(rows).fill(null), observedAt: new Array(rows).fill(null) });
    const rowsByTime = new Map<number, number[]>();
    times.forEach((t, row) => {
      rowsByTime.set(t, [...(rowsByTime.get(t) ?? []), row]);
    });
    const published: {
      feature: string;
      pkey: string;
      value: unknown;
      observedAt: number;
      resolver: string | null;
    }[] = [];
    for (const [t, group] of rowsByTime) {
      signal.throwIfAborted();
      const inputs: Record<string, unknown[]> = {};
      columns.forEach((name, i) => {
        if (i !== timeIndex) inputs[name] = group.map((row) => values[i]![row]);
      });
      const result = await engine.query({
        inputs,
        outputs: [...recompute],
        now: new Date(t),
        kind: 'offline',
        tags: request.tags ?? [],
        requiredResolverTags: request.required_resolver_tags ?? [],
        queryContext: request.query_context ?? {},
        staleness: Object.fromEntries([...recompute].map((fqn) => [fqn, '0s'])),
      });
      for (const error of result.errors)
        record.errors.push({
          code: error.code,
          category: error.category === 'FIELD' ? 'FIELD' : 'REQUEST',
          message: error.message,
          feature: error.feature,
        });
      for (const column of result.columns) {
        const target = table.get(column.fqn)!;
        group.forEach((row, i) => {
          if (column.errors[i]) return;
          const value =
            column.values[i] instanceof Date
              ? (column.values[i] as Date).toISOString()
              : (column.values[i] ?? null);
          target.values[row] = value;
          target.observedAt[row] = column.observedAt[i] ?? t;
          published.push({
            feature: column.fqn,
            pkey: pkeys[row]!,
            value,
            observedAt: column.observedAt[i] ?? t,
            resolver: column.resolver,
          });
        });
      }
    }
    if ((request.store_offline || request.store_online) && published.length > 0) {
      // A background job: it waits for room in the publisher's queue as long as it takes.
      await options.publisher?.publish(
        {
          version: 1,
          environment: record.environment_id,
          operationId: record.revision_id,
          operationKind: 'OFFLINE_QUERY',
          deploymentId: engine.deploymentId,
          insertedAt: now(),
          values: published,
          writeOnline: request.store_online,
          writeOffline: request.store_offline,
        },
        { maxBlockMs: Number.POSITIVE_INFINITY },
      );
    }
    await writeParquet(output, primaryKey, pkeys, times, specs, table);
    record.num_rows = rows;
    return true;
  };

  const load = async (environmentId: string, revisionId: string): Promise<RevisionRecord | null> => {
    if (!/^[0-9a-f-]{36}$/.test(revisionId)) return null;
    return records.get(`${environmentId}/${revisionId}`) ?? stored(environmentId, revisionId);
  };

  return {
    async submit(environmentId, creator, request) {
      const id = randomUUID();
      const at = new Date(now()).toISOString();
      const record: RevisionRecord = {
        revision_id: id,
        dataset_id: request.dataset_name ? `dataset-${request.dataset_name}` : id,
        dataset_name: request.dataset_name ?? null,
        environment_id: environmentId,
        creator_id: creator,
        deployment_id: options.served.get(environmentId)?.deployment?.id ?? null,
        outputs: [...new Set([...request.output, ...request.required_output])],
        created_at: at,
        ...queuedAttempt(1, at),
      };
      // The request first: a revision whose record exists can always be re-run after a crash.
      await options.objectStore.put('dataset', jobKey(environmentId, id), JSON.stringify({ request }), {
        contentType: 'application/json',
      });
      await save(record);
      start(record, request);
      return record;
    },
    async revision(environmentId, revisionId) {
      const record = await load(environmentId, revisionId);
      if (record && isStale(record) && !records.has(keyOf(record))) {
        const taken = await takeOver(record, false);
        return taken === 'skipped' ? ((await stored(environmentId, revisionId)) ?? record) : taken;
      }
      return record;
    },
    async part(environmentId, revisionId, part) {
      const record = await load(environmentId, revisionId);
      const key = record?.output_keys[part];
      return key ? options.objectStore.get('dataset', key) : null;
    },
    async recover() {
      let taken = 0;
      for await (const object of options.objectStore.list('dataset', JOBS_PREFIX)) {
        const match = /^offline-query-jobs\/(.+)\/([0-9a-f-]{36})\.json$/.exec(object.key);
        if (!match) continue;
        const [, environmentId, revisionId] = match as unknown as [string, string, string];
        if (records.has(`${environmentId}/${revisionId}`)) continue;
        const record = await stored(environmentId, revisionId);
        // A job file without a live revision: the process died between the two writes, or after the end.
        if (!record || finishedStatus(record.status)) {
          if (!record && now() - object.lastModified.getTime() <= heartbeatTimeoutMs) continue;
          await options.objectStore.delete('dataset', object.key);
          continue;
        }
        if (!isStale(record)) continue;
        try {
          if ((await takeOver(record, true)) !== 'skipped') taken++;
        } catch (error) {
          options.logger?.warn({ err: error, revision_id: revisionId }, 'offline query take-over failed');
        }
      }
      return taken;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}

function dtypeName(spec: ReturnType<Engine['planner']['index']['features']['get']>): string {
  return spec?.kind === 'scalar' ? spec.dtype.type : 'unknown';
}

/** Writes recomputed and sampled columns as one Parquet part (same layout as a sampled part). */
async function writeParquet(
  path: string,
  primaryKey: string,
  pkeys: readonly string[],
  times: readonly number[],
  specs: readonly ScalarFeatureSpec[],
  table: ReadonlyMap<string, { values: unknown[]; observedAt: (number | null)[] }>,
): Promise<void> {
  const lines = pkeys.map((pkey, row) => {
    const out: unknown[] = [row, pkey, times[row]];
    for (const spec of specs) {
      const column = table.get(spec.fqn)!;
      out.push(
        column.values[row] === null ? null : JSON.stringify(column.values[row]),
        column.observedAt[row],
      );
    }
    return JSON.stringify(out);
  });
  const source = `${path}.jsonl`;
  await writeFile(source, lines.join('\n'));
  const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const ident = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const at = (i: number) => `json_extract_string(j, '$[${i}]')`;
  const selects = [
    `${at(0)}::BIGINT AS __row__`,
    `${at(1)} AS ${ident(primaryKey)}`,
    `make_timestamp(${at(2)}::BIGINT * 1000) AS __ts__`,
    ...specs.flatMap((spec, i) => [
      `${jsonToColumnSql(at(3 + 2 * i), spec.dtype)} AS ${ident(spec.fqn)}`,
      `make_timestamp(${at(4 + 2 * i)}::BIGINT * 1000) AS ${ident(`${spec.fqn}.__observed_at__`)}`,
    ]),
  ];
  const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await duck.connect();
  try {
    await connection.run(
      `COPY (SELECT ${selects.join(', ')} FROM (SELECT json AS j FROM read_json_objects(${quote(source)}, format = 'newline_delimited')) ORDER BY 1) TO ${quote(path)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } finally {
    connection.closeSync();
    duck.closeSync();
  }
}

/** The fields of a revision that start over with each attempt: queued, by a new owner, nothing written yet. */
function queuedAttempt(attempt: number, at: string) {
  return {
    status: 'QUEUED',
    attempt,
    owner: randomUUID(),
    started_at: null,
    terminated_at: null,
    heartbeat_at: at,
    errors: [],
    num_partitions: 0,
    output_keys: [],
    num_bytes: 0,
    num_rows: 0,
    columns: [],
  } satisfies Partial<RevisionRecord>;
}
