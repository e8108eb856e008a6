import type { ObjectStore } from '../../object/object-store.ts';

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
