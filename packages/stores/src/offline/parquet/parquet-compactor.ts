import type { CompactionResult } from '../offline-store.ts';
import { compactTouched, levelOf, mergeFiles, partitionOf } from './offline-compaction.ts';
import type { DataFile, OfflineManifest } from './offline-manifest.ts';
import type { ParquetFiles } from './parquet-files.ts';
import { DEFAULT_MAX_MERGE_BYTES, type ParquetOfflineStoreOptions } from './parquet-offline-store-options.ts';

/** The Parquet store's compaction: after each write (bounded levels) and on demand (`compact`). */
export interface ParquetCompactor {
  /**
   * Compaction after a write, in the write's turn. A failure does not fail the write (it is committed):
   * the partition stays as it is and the next write to it tries again.
   */
  afterWrite(
    environment: string,
    manifest: OfflineManifest,
    adds: readonly DataFile[],
    signal?: AbortSignal,
  ): Promise<void>;
  /** Merges every partition with at least `compactMinFiles` files; the caller serialises it with writes. */
  compactAll(environment: string, signal?: AbortSignal): Promise<CompactionResult>;
}

/** The compactor of one Parquet offline store. */
export function createParquetCompactor(
  files: ParquetFiles,
  options: ParquetOfflineStoreOptions,
): ParquetCompactor {
  const autoCompactFiles = options.autoCompactFiles ?? 16;
  const afterWrite = async (
    environment: string,
    manifest: OfflineManifest,
    adds: readonly DataFile[],
    signal?: AbortSignal,
  ) => {
    if (autoCompactFiles <= 0 || adds.length === 0) return;
    await compactTouched(
      files.compaction(),
      environment,
      manifest,
      new Set(adds.map(partitionOf)),
      autoCompactFiles,
      options.maxMergeBytes ?? DEFAULT_MAX_MERGE_BYTES,
      signal,
    ).catch(() => 0);
  };

  return {
    afterWrite,
    async compactAll(environment, signal) {
      const manifest = files.manifestOf(environment);
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
      for (const group of groups.values()) {
        if (group.length < (options.compactMinFiles ?? 4)) continue;
        const level = Math.max(...group.map(levelOf)) + 1;
        if (!(await mergeFiles(files.compaction(), environment, manifest, group, level, signal))) continue;
        merged += group.length;
        written += 1;
      }
      return { merged, written };
    },
  };
}
