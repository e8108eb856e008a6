import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '../../object/object-store.ts';
import type { DataFile, OfflineManifest } from './offline-manifest.ts';

/** What merging needs from the store: its objects, staging folder, DuckDB and staging of files. */
export interface CompactionDeps {
  readonly objectStore: ObjectStore;
  readonly staging: string;
  readonly withConnection: <T>(work: (connection: DuckDBConnection) => Promise<T>) => Promise<T>;
  /** Local paths of the files, fetched if needed; null when one disappeared (compacted meanwhile). */
  readonly stage: (files: readonly DataFile[], signal?: AbortSignal) => Promise<string[] | null>;
  /**
   * Keys of the files this store wrote (its writes and its merges). Compaction after writes merges only
   * these: two processes merging the same files at once would each commit a merged copy (rows twice).
   */
  readonly own: Set<string>;
  /** Merges of more rows than this stream instead of sorting (default `SORTED_MERGE_ROWS`). */
  readonly sortedMergeRows?: number;
}

/**
 * A merge of at most this many rows is sorted (observations by feature, key and time; record tables by
 * insertion), which clusters the output's row groups; a larger one is streamed in input order (each input
 * file is sorted, so the output is a run of sorted runs). Sorting holds every row in DuckDB's memory — a
 * merge of 512,000 observation rows took the process +300 MiB, 2 million rows +700 MiB, and under a
 * `memory_limit` the sort fails rather than spill — while a streamed merge holds about one row group
 * (+100–125 MiB for 0.5–2 million rows). Readers sort what they read, so the order only helps pruning.
 */
export const SORTED_MERGE_ROWS = 131_072;

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
const LEVEL = /-c(\d*)\.parquet$/;

/**
 * A file's compaction level: 0 for a file a write made, n for a merge of level n − 1 files (`-c<n>`);
 * `-c.parquet`, the name of an explicit `compact`'s merge, counts as level 1.
 */
export function levelOf(file: DataFile): number {
  const match = LEVEL.exec(file.key);
  if (!match) return 0;
  return match[1] ? Number(match[1]) : 1;
}

/** A partition's id: the namespace (`table:<name>` for a record table) and the day. */
export const partitionOf = (file: DataFile) => `${file.namespace}/${file.date}`;

/**
 * Merges files of one partition into one file of `level` and commits the swap (the new file added, the
 * old ones removed, at once); the old files are deleted after the commit, so a reader holding the old list
 * re-reads the manifest when one is gone. Up to `SORTED_MERGE_ROWS` rows, observations are sorted by
 * feature, key and time and record tables by insertion; larger merges stream (bounded memory); readers
 * sort again, so the order only helps the Parquet row groups. Resolves false when a
 * file disappeared meanwhile (another process compacted it) and nothing was done.
 */
export async function mergeFiles(
  deps: CompactionDeps,
  environment: string,
  manifest: OfflineManifest,
  files: readonly DataFile[],
  level: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const paths = await deps.stage(files, signal);
  if (!paths) return false;
  const first = files[0]!;
  const table = first.namespace.startsWith('table:') ? first.namespace.slice('table:'.length) : undefined;
  const folder = table
    ? `offline/${environment}/tables/${table}/date=${first.date}`
    : `offline/${environment}/observations/namespace=${first.namespace}/date=${first.date}`;
  const key = `${folder}/${randomUUID()}-c${level}.parquet`;
  const local = join(deps.staging, key);
  await mkdir(dirname(local), { recursive: true });
  const rows = files.reduce((sum, f) => sum + f.rows, 0);
  // Small merges are sorted; larger ones are streamed (see `SORTED_MERGE_ROWS`).
  const order =
    rows > (deps.sortedMergeRows ?? SORTED_MERGE_ROWS)
      ? ''
      : table
        ? 'ORDER BY inserted_at, batch_id, row_index'
        : 'ORDER BY feature, pkey, observed_at';
  await deps.withConnection((connection) =>
    connection.run(
      `COPY (SELECT * FROM read_parquet([${paths.map(quote).join(', ')}], union_by_name = true) ${order}) TO ${quote(local)} (FORMAT parquet, COMPRESSION zstd)`,
    ),
  );
  const bytes = await readFile(local);
  await deps.objectStore.put('data', key, bytes);
  await manifest.commit({
    ids: [],
    adds: [
      {
        key,
        namespace: first.namespace,
        date: first.date,
        rows,
        bytes: bytes.length,
        minObservedAt: Math.min(...files.map((f) => f.minObservedAt)),
        maxObservedAt: Math.max(...files.map((f) => f.maxObservedAt)),
        ...(files.every((f) => f.features)
          ? { features: [...new Set(files.flatMap((f) => f.features ?? []))].sort() }
          : {}),
      },
    ],
    removes: files.map((f) => f.key),
  });
  deps.own.add(key);
  for (const file of files) {
    deps.own.delete(file.key);
    await deps.objectStore.delete('data', file.key);
    await rm(join(deps.staging, file.key), { force: true });
  }
  return true;
}

/**
 * Keeps the partitions a write touched small, whatever the number of writes: whenever one level of a
 * partition holds `maxFiles` files this store wrote (`deps.own`), they are merged into one file of the
 * next level (tiered, so each row is rewritten once per level, not once per merge). A partition then holds
 * fewer than `maxFiles` files per level per writing process, and levels grow with the logarithm of its
 * writes (16 files a level: 5 levels for a million writes a day). One merge reads at most
 * `maxMergeBytes` of files (those of the level that fit, in order), so its sort, its output and the upload of
 * that output stay under that size whatever the partition holds; files that large are not merged again,
 * and a partition holds about (its bytes ÷ `maxMergeBytes`) of them. Files of another process, or of
 * this one before a restart, are left to it or to `compact`. Resolves with the files merged.
 */
export async function compactTouched(
  deps: CompactionDeps,
  environment: string,
  manifest: OfflineManifest,
  partitions: ReadonlySet<string>,
  maxFiles: number,
  maxMergeBytes: number,
  signal?: AbortSignal,
): Promise<number> {
  let merged = 0;
  for (let changed = true; changed; ) {
    changed = false;
    const levels = new Map<string, DataFile[]>();
    for (const file of manifest.visible()) {
      const partition = partitionOf(file);
      if (!partitions.has(partition) || !deps.own.has(file.key)) continue;
      const id = `${partition}#${levelOf(file)}`;
      let group = levels.get(id);
      if (!group) {
        group = [];
        levels.set(id, group);
      }
      group.push(file);
    }
    for (const files of levels.values()) {
      if (files.length < maxFiles) continue;
      // At most `maxMergeBytes` of input per merge: the files that fit, in order (two at least; a file that
      // big on its own is left as it is).
      const chunk = withinBytes(files, maxMergeBytes);
      if (chunk.length < 2) continue;
      signal?.throwIfAborted();
      if (await mergeFiles(deps, environment, manifest, chunk, levelOf(chunk[0]!) + 1, signal)) {
        merged += chunk.length;
        changed = true;
      }
    }
  }
  return merged;
}

/**
 * Files, in order, whose sizes add up to at most `maxBytes`: each file that still fits is taken, so one
 * large file does not keep the smaller ones after it from merging.
 */
function withinBytes(files: readonly DataFile[], maxBytes: number): DataFile[] {
  const chunk: DataFile[] = [];
  let total = 0;
  for (const file of files) {
    if (total + file.bytes > maxBytes) continue;
    total += file.bytes;
    chunk.push(file);
  }
  return chunk;
}
