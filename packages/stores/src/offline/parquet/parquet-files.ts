import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SlateError } from '@slate/graph';
import type { ObjectStore } from '../../object/object-store.ts';
import type { CompactionDeps } from './offline-compaction.ts';
import { type DataFile, OfflineManifest } from './offline-manifest.ts';
import {
  DEFAULT_OFFLINE_MEMORY_LIMIT,
  type ParquetOfflineStoreOptions,
} from './parquet-offline-store-options.ts';

const FQN = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*$/;
/** Record table names. */
export const TABLE = /^[a-z_][a-z0-9_]{0,63}$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** A SQL string literal. */
export const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
/** A SQL quoted identifier. */
export const ident = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** Throws `INVALID_FEATURE` unless `fqn` is `namespace.name`. */
export const checkFeature = (fqn: string) => {
  if (!FQN.test(fqn))
    throw new SlateError('input', 'INVALID_FEATURE', `invalid feature name ${JSON.stringify(fqn)}`);
};

/** Throws `INVALID_FEATURE` unless `table` is a valid record table name. */
export const checkTable = (table: string) => {
  if (!TABLE.test(table))
    throw new SlateError('input', 'INVALID_FEATURE', `invalid table name ${JSON.stringify(table)}`);
};

/** The Parquet observations of `paths` as a DuckDB relation (an empty one for no file). */
// `union_by_name`: files written before `commit_seq`/`row_seq` existed read them as null.
export const observationsSql = (paths: readonly string[]) =>
  paths.length === 0
    ? `(SELECT NULL::VARCHAR AS feature, NULL::VARCHAR AS pkey, NULL::VARCHAR AS value, NULL::TIMESTAMP AS observed_at, NULL::TIMESTAMP AS inserted_at, NULL::VARCHAR AS resolver, NULL::VARCHAR AS deployment_id, NULL::VARCHAR AS query_id, NULL::VARCHAR AS observation_id, NULL::BIGINT AS commit_seq, NULL::BIGINT AS row_seq WHERE false)`
    : `read_parquet([${paths.map(quote).join(', ')}], union_by_name = true)`;

/**
 * What the Parquet store's writer, sampler and compactor share: the per-environment manifests, the local
 * staging folder and the DuckDB instance. One per store; `open` before use, `shut` after the last call.
 */
export interface ParquetFiles {
  readonly objectStore: ObjectStore;
  /** The local staging folder (set by `open`). */
  readonly staging: string;
  /** Files this store wrote and has not merged away: what compaction after writes may merge. */
  readonly own: Set<string>;
  /** The environment's manifest; throws `INVALID_FEATURE` for a malformed environment. */
  manifestOf(environment: string): OfflineManifest;
  withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Local paths of the files, fetching those not staged yet; null when one disappeared. */
  stage(files: readonly DataFile[], signal?: AbortSignal): Promise<string[] | null>;
  /** Stages the visible files that match; retries once when compaction deleted one meanwhile. */
  stageVisible(
    manifest: OfflineManifest,
    filter: Parameters<OfflineManifest['visible']>[0],
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** Like `stageVisible`, keeping each file's manifest entry next to its local path. */
  stageVisibleFiles(
    manifest: OfflineManifest,
    filter: Parameters<OfflineManifest['visible']>[0],
    signal?: AbortSignal,
  ): Promise<{ file: DataFile; path: string }[]>;
  /** What `offline-compaction.ts` needs. */
  compaction(): CompactionDeps;
  open(): Promise<void>;
  shut(): Promise<void>;
}

/** The shared files, manifests and DuckDB instance of one Parquet offline store. */
export function createParquetFiles(options: ParquetOfflineStoreOptions): ParquetFiles {
  const { objectStore } = options;
  const manifests = new Map<string, OfflineManifest>();
  let instance: DuckDBInstance | undefined;
  let staging = options.stagingDir;
  let ownStaging = false;
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

  const own = new Set<string>();
  const compaction = (): CompactionDeps => ({
    objectStore,
    staging: staging!,
    withConnection,
    stage,
    own,
    sortedMergeRows: options.sortedMergeRows,
  });
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

  return {
    objectStore,
    get staging() {
      return staging!;
    },
    own,
    manifestOf,
    withConnection,
    stage,
    stageVisible,
    stageVisibleFiles,
    compaction,
    async open() {
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
    async shut() {
      instance?.closeSync();
      instance = undefined;
      if (ownStaging && staging) await rm(staging, { recursive: true, force: true });
    },
  };
}
