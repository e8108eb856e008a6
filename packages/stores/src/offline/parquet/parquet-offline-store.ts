import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SlateError } from '@slate/graph';
import type { ObjectStore } from '../../object/object-store.ts';
import type {
  CompactionResult,
  DropOptions,
  DropResult,
  OfflineBatch,
  OfflineStore,
  RecordBatch,
  SampledColumn,
  SampleRequest,
  SampleResult,
  ScanOptions,
  StoredObservation,
} from '../offline-store.ts';
import { jsonToColumnSql } from './json-column-sql.ts';
import {
  type CompactionDeps,
  compactTouched,
  levelOf,
  mergeFiles,
  partitionOf,
} from './offline-compaction.ts';
import { dropFromFiles } from './offline-drop.ts';
import { type DataFile, OfflineManifest } from './offline-manifest.ts';

/** Options for `createParquetOfflineStore`. */
export interface ParquetOfflineStoreOptions {
  /** Where the Parquet files and commits live (the `data` bucket); local folders or S3. */
  readonly objectStore: ObjectStore;
  /** Local folder where files are staged for DuckDB (it cannot read S3 here). Default: a temp folder. */
  readonly stagingDir?: string;
  /**
   * DuckDB worker threads. Default 1: the store runs inside a serving process, and each thread adds its own
   * sort and Parquet-writer buffers to a merge (see `memoryLimit`).
   */
  readonly threads?: number;
  /**
   * DuckDB's memory limit, e.g. `'256MB'` or `'4GB'`: its buffer manager keeps sorts, hash tables and
   * Parquet-writer buffers under it and spills the rest to `<stagingDir>/.duckdb-spill`. Default
   * `DEFAULT_OFFLINE_MEMORY_LIMIT` (512 MB), not DuckDB's own default (80 % of the machine's RAM), so an
   * offline query cannot take the serving process's memory. Compaction stays far below it by design (see
   * `SORTED_MERGE_ROWS`); a large offline query spills, or fails with DuckDB's out-of-memory error where
   * an operator cannot spill — raise it for such workloads (`SLATE_OFFLINE_MEMORY_LIMIT`).
   */
  readonly memoryLimit?: string;
  /**
   * Compaction after writes leaves a level's files alone once merging them would write a file larger than
   * this (the sum of their sizes): such files stay as they are until an explicit `compact`. Bounds the
   * work and the memory of one merge, and the size of the file it uploads; a day's partition then holds
   * about (its bytes ÷ this) top-level files. Default `DEFAULT_MAX_MERGE_BYTES` (64 MiB).
   */
  readonly maxMergeBytes?: number;
  /** Merges of more rows than this stream in input order instead of sorting. Default `SORTED_MERGE_ROWS`. */
  readonly sortedMergeRows?: number;
  /** A (namespace, day) partition with at least this many files is merged by `compact`. Default 4. */
  readonly compactMinFiles?: number;
  /**
   * Compaction after writes (see `compactTouched`): when one level of a partition a write touched holds
   * this many files, they are merged into one file of the next level, in the write's turn. Bounds the
   * visible-file list (and the files a read opens) whatever the number of writes. Default 16; 0 turns it
   * off (then only `compact` merges).
   */
  readonly autoCompactFiles?: number;
  /**
   * Batch ids remembered per environment for idempotent writes (the most recent ones; see
   * `OfflineManifest`). Bounds the manifest's memory. Default 200,000.
   */
  readonly dedupeIds?: number;
  /** Commits after which the manifest writes a checkpoint (see `OfflineManifest`). Default 128. */
  readonly checkpointEvery?: number;
  /**
   * A write re-lists the commit folder (to skip batches another process committed) only when it was
   * listed longer ago than this; reads always re-list. Safe below the buses' redelivery idle time (30 s;
   * keep it below `redeliverAfterMs`): a batch another process committed is redelivered here only after
   * that process went idle that long, so it was committed before this window. Default 1,000 ms.
   */
  readonly writeRefreshMs?: number;
}

/** The offline store's DuckDB memory limit by default (see `ParquetOfflineStoreOptions.memoryLimit`). */
export const DEFAULT_OFFLINE_MEMORY_LIMIT = '512MB';
/** The largest file compaction after writes produces by default (see `maxMergeBytes`). */
export const DEFAULT_MAX_MERGE_BYTES = 64 * 2 ** 20;

const FQN = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*$/;
const TABLE = /^[a-z_][a-z0-9_]{0,63}$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
const ident = (text: string) => `"${text.replaceAll('"', '""')}"`;

/**
 * An `OfflineStore` of Parquet files in the `data` bucket, read and written by DuckDB.
 *
 * Layout, under `offline/<environment>/`: `observations/namespace=<ns>/date=<YYYY-MM-DD>/<commit>-<n>.parquet`
 * (columns `feature, pkey, value (JSON text), observed_at, inserted_at, resolver, deployment_id, query_id,
 * observation_id, commit_seq, row_seq`, sorted by feature, key and time; `commit_seq` is the commit's
 * microsecond stamp, strictly increasing within a process, and `row_seq` a row's position in its commit,
 * so together they give the order in which observations were written; files written before these two
 * columns existed read them as null, ranking before every later write) and `_commits/*.json` (see `OfflineManifest`): a batch's
 * files are uploaded first and become visible with its commit file, so a crash mid-write shows nothing.
 * Writes are serialised per environment within a process; commits from several processes commute.
 *
 * Reads stage the needed files (pruned by namespace and by time, using each file's observed-at range) into
 * a local folder once — data files are immutable — and run one DuckDB query: per feature, the observations
 * sharing a key and an observed-at are cut to the one that wins the tie (latest `inserted_at`, then latest
 * written: `commit_seq`, `row_seq`), then an `ASOF LEFT JOIN` on `(pkey, observed_at)` takes the newest at
 * or before the row's time, then the TTL check. `compact` merges the files of a partition into
 * one and deletes the old ones after its commit (a reader that misses a deleted file re-reads the manifest).
 *
 * Throws `SlateError('input', 'INVALID_FEATURE')` for malformed feature names or environments.
 *
 * @example
 * const offline = createParquetOfflineStore({ objectStore });
 * await offline.init();
 * await offline.write('prod', { ids: ['m1'], observations: [{ feature: 'user.score', pkey: '1', value: 0.7, observedAt: t, insertedAt: Date.now() }] });
 * const { columns } = await offline.sample('prod', { spine: { pkeys: ['1'], times: [t + 1] }, features: [{ fqn: 'user.score', ttlMs: null }] });
 */
export function createParquetOfflineStore(options: ParquetOfflineStoreOptions): OfflineStore {
  const { objectStore } = options;
  const manifests = new Map<string, OfflineManifest>();
  const writeChains = new Map<string, Promise<unknown>>();
  let instance: DuckDBInstance | undefined;
  let staging = options.stagingDir;
  let ownStaging = false;

  const writeRefreshMs = options.writeRefreshMs ?? 1_000;
  const manifestOf = (environment: string) => {
    if (!ENVIRONMENT.test(environment))
      throw new SlateError('input', 'INVALID_FEATURE', `invalid environment ${JSON.stringify(environment)}`);
    let manifest = manifests.get(environment);
    if (!manifest) {
      manifest = new OfflineManifest(
        objectStore,
        `offline/${environment}`,
        options.dedupeIds,
        options.checkpointEvery,
      );
      manifests.set(environment, manifest);
    }
    return manifest;
  };

  const withConnection = async <T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> => {
    if (!instance)
      throw new SlateError('unavailable', 'OFFLINE_STORE_CLOSED', 'the offline store is not open');
    const connection = await instance.connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  };

  /** Local paths of the files, fetching those not staged yet. */
  const stage = async (files: readonly DataFile[], signal?: AbortSignal): Promise<string[] | null> => {
    const paths: string[] = [];
    for (const file of files) {
      const path = join(staging!, file.key);
      const present = await stat(path).then(
        () => true,
        () => false,
      );
      if (!present) {
        const bytes = await objectStore.get('data', file.key, signal);
        if (!bytes) return null;
        await mkdir(dirname(path), { recursive: true });
        const temp = `${path}.${randomUUID()}.tmp`;
        await writeFile(temp, bytes);
        await rename(temp, path);
      }
      paths.push(path);
    }
    return paths;
  };

  /** Files this store wrote and has not merged away: what compaction after writes may merge. */
  const own = new Set<string>();
  const compaction = (): CompactionDeps => ({
    objectStore,
    staging: staging!,
    withConnection,
    stage,
    own,
    sortedMergeRows: options.sortedMergeRows,
  });
  const autoCompactFiles = options.autoCompactFiles ?? 16;
  /**
   * Compaction after a write, in the write's turn. A failure does not fail the write (it is committed):
   * the partition stays as it is and the next write to it tries again.
   */
  const compactAfter = async (
    environment: string,
    manifest: OfflineManifest,
    adds: readonly DataFile[],
    signal?: AbortSignal,
  ) => {
    if (autoCompactFiles <= 0 || adds.length === 0) return;
    await compactTouched(
      compaction(),
      environment,
      manifest,
      new Set(adds.map(partitionOf)),
      autoCompactFiles,
      options.maxMergeBytes ?? DEFAULT_MAX_MERGE_BYTES,
      signal,
    ).catch(() => 0);
  };

  /** Stages the visible files that match; retries once when compaction deleted one meanwhile. */
  const stageVisible = async (
    manifest: OfflineManifest,
    filter: Parameters<OfflineManifest['visible']>[0],
    signal?: AbortSignal,
  ): Promise<string[]> => {
    for (let attempt = 0; ; attempt++) {
      await manifest.refresh(signal);
      const paths = await stage(manifest.visible(filter), signal);
      if (paths) return paths;
      if (attempt >= 2)
        throw new SlateError(
          'unavailable',
          'OFFLINE_FILE_MISSING',
          'an offline store file disappeared while reading',
        );
    }
  };

  /** Like `stageVisible`, keeping each file's manifest entry next to its local path. */
  const stageVisibleFiles = async (
    manifest: OfflineManifest,
    filter: Parameters<OfflineManifest['visible']>[0],
    signal?: AbortSignal,
  ): Promise<{ file: DataFile; path: string }[]> => {
    for (let attempt = 0; ; attempt++) {
      await manifest.refresh(signal);
      const files = manifest.visible(filter);
      const paths = await stage(files, signal);
      if (paths) return files.map((file, i) => ({ file, path: paths[i]! }));
      if (attempt >= 2)
        throw new SlateError(
          'unavailable',
          'OFFLINE_FILE_MISSING',
          'an offline store file disappeared while reading',
        );
    }
  };

  // `union_by_name`: files written before `commit_seq`/`row_seq` existed read them as null.
  const observationsSql = (paths: readonly string[]) =>
    paths.length === 0
      ? `(SELECT NULL::VARCHAR AS feature, NULL::VARCHAR AS pkey, NULL::VARCHAR AS value, NULL::TIMESTAMP AS observed_at, NULL::TIMESTAMP AS inserted_at, NULL::VARCHAR AS resolver, NULL::VARCHAR AS deployment_id, NULL::VARCHAR AS query_id, NULL::VARCHAR AS observation_id, NULL::BIGINT AS commit_seq, NULL::BIGINT AS row_seq WHERE false)`
      : `read_parquet([${paths.map(quote).join(', ')}], union_by_name = true)`;
  /** The commit stamp of the last write of this process (µs), so commits are strictly ordered. */
  let lastCommitSeq = 0;

  const checkFeature = (fqn: string) => {
    if (!FQN.test(fqn))
      throw new SlateError('input', 'INVALID_FEATURE', `invalid feature name ${JSON.stringify(fqn)}`);
  };

  const write = async (
    environment: string,
    batches: readonly OfflineBatch[],
    signal?: AbortSignal,
  ): Promise<number> => {
    const manifest = manifestOf(environment);
    await manifest.refresh(signal, writeRefreshMs);
    const seen = new Set<string>();
    const fresh = batches.filter((batch) => {
      if (manifest.has(batch.id) || seen.has(batch.id)) return false;
      seen.add(batch.id);
      return true;
    });
    if (fresh.length === 0) return 0;
    for (const batch of fresh)
      for (const observation of batch.observations) checkFeature(observation.feature);
    const commitId = randomUUID();
    lastCommitSeq = Math.max(Math.trunc(Date.now() * 1000), lastCommitSeq + 1);
    const commitSeq = lastCommitSeq;
    const workDir = await mkdtemp(join(staging!, '.write-'));
    try {
      const adds: DataFile[] = [];
      await withConnection(async (connection) => {
        const table = `w_${commitId.replaceAll('-', '')}`;
        await connection.run(
          `CREATE TEMP TABLE ${table} (feature VARCHAR, namespace VARCHAR, pkey VARCHAR, value VARCHAR, observed_ms BIGINT, inserted_ms BIGINT, resolver VARCHAR, deployment_id VARCHAR, query_id VARCHAR, observation_id VARCHAR, row_seq BIGINT)`,
        );
        try {
          const appender = await connection.createAppender(table);
          // The order observations are written in decides ties (same key and observed-at, same insert ms):
          // the later batch, and the later row of a batch, wins, as in the online store.
          let rowSeq = 0;
          for (const batch of fresh) {
            batch.observations.forEach((o, i) => {
              appender.appendVarchar(o.feature);
              appender.appendVarchar(o.feature.slice(0, o.feature.indexOf('.')));
              appender.appendVarchar(String(o.pkey));
              appender.appendVarchar(JSON.stringify(o.value ?? null));
              appender.appendBigInt(BigInt(Math.trunc(o.observedAt)));
              appender.appendBigInt(BigInt(Math.trunc(o.insertedAt)));
              for (const text of [o.resolver, o.deploymentId, o.queryId]) {
                if (text == null) appender.appendNull();
                else appender.appendVarchar(text);
              }
              appender.appendVarchar(`${batch.id}:${i}`);
              appender.appendBigInt(BigInt(rowSeq++));
              appender.endRow();
            });
          }
          appender.closeSync();
          await connection.run(
            `COPY (SELECT feature, pkey, value, make_timestamp(observed_ms * 1000) AS observed_at, make_timestamp(inserted_ms * 1000) AS inserted_at, resolver, deployment_id, query_id, observation_id, ${commitSeq}::BIGINT AS commit_seq, row_seq, namespace, strftime(make_timestamp(observed_ms * 1000), '%Y-%m-%d') AS date FROM ${table} ORDER BY feature, pkey, observed_ms) TO ${quote(workDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (namespace, date), OVERWRITE_OR_IGNORE)`,
          );
          const stats = await connection.runAndReadAll(
            `SELECT namespace, strftime(make_timestamp(observed_ms * 1000), '%Y-%m-%d') AS date, count(*)::BIGINT AS n, min(observed_ms) AS lo, max(observed_ms) AS hi, list(DISTINCT feature ORDER BY feature) AS features FROM ${table} GROUP BY ALL`,
          );
          const byPartition = new Map(
            stats.getRowsJS().map(([ns, date, n, lo, hi, features]) => [
              `namespace=${ns}/date=${date}`,
              {
                namespace: String(ns),
                date: String(date),
                rows: Number(n),
                lo: Number(lo),
                hi: Number(hi),
                features: (features as unknown[]).map(String),
              },
            ]),
          );
          let n = 0;
          for (const path of await listFiles(workDir)) {
            const partition = dirname(relative(workDir, path));
            const info = byPartition.get(partition);
            if (!info) continue;
            const key = `offline/${environment}/observations/${partition}/${commitId}-${n++}.parquet`;
            const bytes = await readFile(path);
            await objectStore.put('data', key, bytes);
            adds.push({
              key,
              namespace: info.namespace,
              date: info.date,
              rows: info.rows,
              bytes: bytes.length,
              minObservedAt: info.lo,
              maxObservedAt: info.hi,
              features: info.features,
            });
          }
        } finally {
          await connection.run(`DROP TABLE IF EXISTS ${table}`);
        }
      });
      signal?.throwIfAborted();
      await manifest.commit({ ids: fresh.map((batch) => batch.id), adds, removes: [] });
      for (const file of adds) own.add(file.key);
      await compactAfter(environment, manifest, adds, signal);
      return fresh.length;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };

  const sample = async (
    environment: string,
    request: SampleRequest,
    signal?: AbortSignal,
  ): Promise<SampleResult> => {
    const manifest = manifestOf(environment);
    for (const feature of request.features) checkFeature(feature.fqn);
    const namespaces = new Set(request.features.map((f) => f.fqn.slice(0, f.fqn.indexOf('.'))));
    let from = request.lowerBound;
    let to = request.upperBound;
    if ('times' in request.spine && request.spine.times.length > 0) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const t of request.spine.times) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
      to = to === undefined ? hi : Math.min(to, hi);
      const ttls = request.features.map((f) => f.ttlMs);
      if (ttls.every((ttl) => ttl !== null)) {
        const earliest = lo - Math.max(...(ttls as number[]));
        from = from === undefined ? earliest : Math.max(from, earliest);
      }
    }
    const files = await stageVisibleFiles(manifest, { namespaces, from, to }, signal);
    const pathsOf = (fqn: string) =>
      files.filter(({ file }) => !file.features || file.features.includes(fqn)).map(({ path }) => path);

    return withConnection(async (connection) => {
      const suffix = randomUUID().replaceAll('-', '');
      const spine = `s_${suffix}`;
      if ('parquet' in request.spine) {
        await connection.run(
          `CREATE TEMP TABLE ${spine} AS SELECT file_row_number AS __row__, pkey::VARCHAR AS pkey, ts::TIMESTAMP AS ts FROM read_parquet(${quote(request.spine.parquet)}, file_row_number = true)`,
        );
      } else {
        const { pkeys, times } = request.spine;
        if (pkeys.length !== times.length)
          throw new SlateError('input', 'INVALID_SPINE', 'the spine needs one time per primary key');
        await connection.run(`CREATE TEMP TABLE ${spine}_raw (__row__ BIGINT, pkey VARCHAR, ts_ms BIGINT)`);
        const appender = await connection.createAppender(`${spine}_raw`);
        for (let i = 0; i < pkeys.length; i++) {
          appender.appendBigInt(BigInt(i));
          appender.appendVarchar(String(pkeys[i]));
          appender.appendBigInt(BigInt(Math.trunc(times[i]!)));
          appender.endRow();
        }
        appender.closeSync();
        await connection.run(
          `CREATE TEMP TABLE ${spine} AS SELECT __row__, pkey, make_timestamp(ts_ms * 1000) AS ts FROM ${spine}_raw`,
        );
        await connection.run(`DROP TABLE ${spine}_raw`);
      }
      try {
        const bounds = [
          request.lowerBound === undefined
            ? null
            : `observed_at >= make_timestamp(${Math.trunc(request.lowerBound)} * 1000)`,
          request.upperBound === undefined
            ? null
            : `observed_at <= make_timestamp(${Math.trunc(request.upperBound)} * 1000)`,
        ].filter(Boolean);
        // One observation per key and observed-at: the tie's winner (latest insert, then latest written).
        const ctes = request.features.map(
          (feature, i) =>
            `f${i} AS (SELECT pkey, value, observed_at FROM ${observationsSql(pathsOf(feature.fqn))} WHERE feature = ${quote(feature.fqn)}${bounds.map((b) => ` AND ${b}`).join('')} QUALIFY row_number() OVER (PARTITION BY pkey, observed_at ORDER BY inserted_at DESC, commit_seq DESC NULLS LAST, row_seq DESC NULLS LAST) = 1)`,
        );
        const toFile = request.output !== undefined;
        const columns = request.features.flatMap((feature, i) => {
          const fresh =
            feature.ttlMs === null
              ? `f${i}.observed_at IS NOT NULL`
              : `f${i}.observed_at >= s.ts - to_milliseconds(${Math.trunc(feature.ttlMs)})`;
          const value = toFile ? jsonToColumnSql(`f${i}.value`, feature.dtype) : `f${i}.value`;
          return [
            `CASE WHEN ${fresh} THEN ${value} END AS ${ident(feature.fqn)}`,
            toFile
              ? `CASE WHEN ${fresh} THEN f${i}.observed_at END AS ${ident(`${feature.fqn}.__observed_at__`)}`
              : `CASE WHEN ${fresh} THEN epoch_ms(f${i}.observed_at) END AS ${ident(`${feature.fqn}.__observed_at__`)}`,
          ];
        });
        const joins = request.features.map(
          (_, i) => `ASOF LEFT JOIN f${i} ON s.pkey = f${i}.pkey AND s.ts >= f${i}.observed_at`,
        );
        const query = [
          ctes.length > 0 ? `WITH ${ctes.join(',\n')}` : '',
          `SELECT s.__row__, s.pkey AS ${ident(request.output?.keyColumn ?? 'pkey')}, s.ts AS __ts__${columns.map((c) => `, ${c}`).join('')}`,
          `FROM ${spine} s`,
          ...joins,
          'ORDER BY s.__row__',
        ].join('\n');
        signal?.throwIfAborted();
        if (request.output) {
          await connection.run(
            `COPY (${query}) TO ${quote(request.output.parquet)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          const count = await connection.runAndReadAll(`SELECT count(*)::BIGINT FROM ${spine}`);
          return { rowCount: Number(count.getRowsJS()[0]![0]), columns: [] };
        }
        const reader = await connection.runAndReadAll(query);
        const raw = reader.getColumnsJS();
        const rowCount = raw[0]?.length ?? 0;
        const out: SampledColumn[] = request.features.map((feature, i) => ({
          fqn: feature.fqn,
          values: raw[3 + 2 * i]!.map((v) => (v === null ? null : JSON.parse(String(v)))),
          observedAt: raw[4 + 2 * i]!.map((v) => (v === null ? null : Number(v))),
        }));
        return { rowCount, columns: out };
      } finally {
        await connection.run(`DROP TABLE IF EXISTS ${spine}`);
      }
    });
  };

  /** Record tables: one Parquet file per commit, `batch_id, row_index, row (JSON text), inserted_at`. */
  const appendRecords = async (
    environment: string,
    table: string,
    batches: readonly RecordBatch[],
    signal?: AbortSignal,
  ): Promise<number> => {
    if (!TABLE.test(table))
      throw new SlateError('input', 'INVALID_FEATURE', `invalid table name ${JSON.stringify(table)}`);
    const manifest = manifestOf(environment);
    await manifest.refresh(signal, writeRefreshMs);
    const idOf = (batch: RecordBatch) => `${table}:${batch.id}`;
    const seen = new Set<string>();
    const fresh = batches.filter((batch) => {
      if (manifest.has(idOf(batch)) || seen.has(batch.id)) return false;
      seen.add(batch.id);
      return true;
    });
    if (fresh.length === 0) return 0;
    const commitId = randomUUID();
    const now = Date.now();
    const date = new Date(now).toISOString().slice(0, 10);
    const key = `offline/${environment}/tables/${table}/date=${date}/${commitId}.parquet`;
    const local = join(staging!, key);
    await mkdir(dirname(local), { recursive: true });
    const rows = await withConnection(async (connection) => {
      const name = `r_${commitId.replaceAll('-', '')}`;
      await connection.run(`CREATE TEMP TABLE ${name} (batch_id VARCHAR, row_index INTEGER, row VARCHAR)`);
      try {
        const appender = await connection.createAppender(name);
        let count = 0;
        for (const batch of fresh) {
          batch.rows.forEach((row, i) => {
            appender.appendVarchar(batch.id);
            appender.appendInteger(i);
            appender.appendVarchar(JSON.stringify(row));
            appender.endRow();
            count++;
          });
        }
        appender.closeSync();
        await connection.run(
          `COPY (SELECT *, make_timestamp(${now} * 1000) AS inserted_at FROM ${name}) TO ${quote(local)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        return count;
      } finally {
        await connection.run(`DROP TABLE IF EXISTS ${name}`);
      }
    });
    const bytes = await readFile(local);
    await objectStore.put('data', key, bytes);
    const added: DataFile = {
      key,
      namespace: `table:${table}`,
      date,
      rows,
      bytes: bytes.length,
      minObservedAt: now,
      maxObservedAt: now,
    };
    await manifest.commit({ ids: fresh.map(idOf), adds: [added], removes: [] });
    own.add(added.key);
    await compactAfter(environment, manifest, [added], signal);
    return fresh.length;
  };

  const chained = <T>(environment: string, work: () => Promise<T>): Promise<T> => {
    const run = (writeChains.get(environment) ?? Promise.resolve()).then(work);
    writeChains.set(
      environment,
      run.catch(() => {}),
    );
    return run;
  };

  return {
    capabilities: { persistent: true },
    appendRecords(environment, table, batches, signal) {
      return chained(environment, () => appendRecords(environment, table, batches, signal));
    },
    async readRecords(environment, table, signal) {
      if (!TABLE.test(table))
        throw new SlateError('input', 'INVALID_FEATURE', `invalid table name ${JSON.stringify(table)}`);
      const paths = await stageVisible(
        manifestOf(environment),
        { namespaces: new Set([`table:${table}`]) },
        signal,
      );
      if (paths.length === 0) return [];
      return withConnection(async (connection) => {
        const reader = await connection.runAndReadAll(
          `SELECT row FROM read_parquet([${paths.map(quote).join(', ')}]) ORDER BY inserted_at, batch_id, row_index`,
        );
        return reader.getRowsJS().map(([row]) => JSON.parse(String(row)) as Record<string, unknown>);
      });
    },
    async init() {
      if (!staging) {
        staging = await mkdtemp(join(tmpdir(), 'slate-offline-'));
        ownStaging = true;
      }
      await mkdir(staging, { recursive: true });
      const spill = join(staging, '.duckdb-spill');
      await rm(spill, { recursive: true, force: true });
      instance = await DuckDBInstance.create(':memory:', {
        threads: String(options.threads ?? 1),
        memory_limit: options.memoryLimit ?? DEFAULT_OFFLINE_MEMORY_LIMIT,
        // Past the limit DuckDB spills here (its default for an in-memory database is `.tmp` in the
        // process's working folder); emptied on open, as a crash can leave spill files behind.
        temp_directory: spill,
      });
    },
    async close() {
      await Promise.all([...writeChains.values()]);
      instance?.closeSync();
      instance = undefined;
      if (ownStaging && staging) await rm(staging, { recursive: true, force: true });
    },
    write(environment, batches, signal) {
      const run = (writeChains.get(environment) ?? Promise.resolve()).then(() =>
        write(environment, batches, signal),
      );
      writeChains.set(
        environment,
        run.catch(() => {}),
      );
      return run;
    },
    sample,
    async scan(environment, scanOptions: ScanOptions = {}) {
      const manifest = manifestOf(environment);
      const features = scanOptions.features;
      features?.forEach(checkFeature);
      const namespaces = features ? new Set(features.map((f) => f.slice(0, f.indexOf('.')))) : undefined;
      const paths = (await stageVisible(manifest, { namespaces })).filter(
        (path) => !path.includes('/tables/'),
      );
      return withConnection(async (connection) => {
        const where = features ? `WHERE feature IN (${features.map(quote).join(', ')})` : '';
        const reader = await connection.runAndReadAll(
          `SELECT feature, pkey, value, epoch_ms(observed_at), epoch_ms(inserted_at), resolver, deployment_id, query_id, observation_id FROM ${observationsSql(paths)} ${where} ORDER BY feature, pkey, observed_at, inserted_at, commit_seq NULLS FIRST, row_seq NULLS FIRST`,
        );
        return reader
          .getRowsJS()
          .map(
            ([
              feature,
              pkey,
              value,
              observedAt,
              insertedAt,
              resolver,
              deploymentId,
              queryId,
              observationId,
            ]) => ({
              feature: String(feature),
              pkey: String(pkey),
              value: JSON.parse(String(value)),
              observedAt: Number(observedAt),
              insertedAt: Number(insertedAt),
              resolver: resolver === null ? null : String(resolver),
              deploymentId: deploymentId === null ? null : String(deploymentId),
              queryId: queryId === null ? null : String(queryId),
              observationId: String(observationId),
            }),
          ) satisfies StoredObservation[];
      });
    },
    async compact(environment, signal): Promise<CompactionResult> {
      const manifest = manifestOf(environment);
      const run = (writeChains.get(environment) ?? Promise.resolve()).then(async () => {
        await manifest.refresh(signal);
        const groups = new Map<string, DataFile[]>();
        for (const file of manifest.visible()) {
          const id = partitionOf(file);
          let group = groups.get(id);
          if (!group) {
            group = [];
            groups.set(id, group);
          }
          group.push(file);
        }
        let merged = 0;
        let written = 0;
        for (const files of groups.values()) {
          if (files.length < (options.compactMinFiles ?? 4)) continue;
          const level = Math.max(...files.map(levelOf)) + 1;
          if (!(await mergeFiles(compaction(), environment, manifest, files, level, signal))) continue;
          merged += files.length;
          written += 1;
        }
        return { merged, written };
      });
      writeChains.set(
        environment,
        run.catch(() => {}),
      );
      return run;
    },
    async dropFeatures(environment, features, dropOptions: DropOptions = {}): Promise<DropResult> {
      features.forEach(checkFeature);
      const { signal } = dropOptions;
      const insertedBefore = dropOptions.insertedBefore ?? Date.now();
      const manifest = manifestOf(environment);
      if (features.length === 0) return { rows: 0, files: 0 };
      // In the environment's write turn: a write or merge of this process never races the rewrite.
      const run = (writeChains.get(environment) ?? Promise.resolve()).then(async () => {
        for (let attempt = 0; ; attempt++) {
          await manifest.refresh(signal);
          const result = await dropFromFiles(compaction(), manifest, features, insertedBefore, signal);
          if (result) return result;
          if (attempt >= 2)
            throw new SlateError(
              'unavailable',
              'OFFLINE_FILE_MISSING',
              'offline store files kept disappearing during the drop (another process compacting): retry',
            );
        }
      });
      writeChains.set(
        environment,
        run.catch(() => {}),
      );
      return run;
    },
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}
