import { SlateError } from '@slate/graph';
import type { DropOptions, DropResult, OfflineStore } from '../offline-store.ts';
import { dropFromFiles } from './offline-drop.ts';
import { createParquetCompactor } from './parquet-compactor.ts';
import { checkFeature, createParquetFiles } from './parquet-files.ts';
import type { ParquetOfflineStoreOptions } from './parquet-offline-store-options.ts';
import { createParquetSampler } from './parquet-sampler.ts';
import { createParquetWriter } from './parquet-writer.ts';

export {
  DEFAULT_MAX_MERGE_BYTES,
  DEFAULT_OFFLINE_MEMORY_LIMIT,
  type ParquetOfflineStoreOptions,
} from './parquet-offline-store-options.ts';

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
  // Kysely-style parts: the shared files/manifests/DuckDB (parquet-files.ts), the writer, the
  // point-in-time sampler and the compactor; this factory only serialises writes per environment.
  const files = createParquetFiles(options);
  const compactor = createParquetCompactor(files, options);
  const writer = createParquetWriter(files, compactor, options);
  const sampler = createParquetSampler(files);
  const writeChains = new Map<string, Promise<unknown>>();

  /** Writes (and compactions) run one at a time per environment within a process. */
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
      return chained(environment, () => writer.appendRecords(environment, table, batches, signal));
    },
    readRecords: sampler.readRecords,
    init: files.open,
    async close() {
      await Promise.all([...writeChains.values()]);
      await files.shut();
    },
    write(environment, batches, signal) {
      return chained(environment, () => writer.write(environment, batches, signal));
    },
    sample: sampler.sample,
    scan: sampler.scan,
    async compact(environment, signal) {
      files.manifestOf(environment);
      return chained(environment, () => compactor.compactAll(environment, signal));
    },
    async dropFeatures(environment, features, dropOptions: DropOptions = {}): Promise<DropResult> {
      features.forEach(checkFeature);
      const { signal } = dropOptions;
      const insertedBefore = dropOptions.insertedBefore ?? Date.now();
      const manifest = files.manifestOf(environment);
      if (features.length === 0) return { rows: 0, files: 0 };
      // In the environment's write turn: a write or merge of this process never races the rewrite.
      return chained(environment, async () => {
        for (let attempt = 0; ; attempt++) {
          await manifest.refresh(signal);
          const result = await dropFromFiles(files.compaction(), manifest, features, insertedBefore, signal);
          if (result) return result;
          if (attempt >= 2)
            throw new SlateError(
              'unavailable',
              'OFFLINE_FILE_MISSING',
              'offline store files kept disappearing during the drop (another process compacting): retry',
            );
        }
      });
    },
  };
}
