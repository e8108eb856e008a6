import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DropResult } from '../offline-store.ts';
import { type CompactionDeps, levelOf } from './offline-compaction.ts';
import type { DataFile, OfflineManifest } from './offline-manifest.ts';

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * Erases the observations of `features` inserted at or before `insertedBefore` by rewriting the data files
 * that hold them (docs/adr/0024-drop-feature-values.md): each such file is copied without those rows
 * (or simply removed when every row goes), and one commit swaps all the rewritten files for the old ones,
 * so readers see the drop whole or not at all. The old objects are deleted after the commit, as after a
 * merge (a reader holding the old list re-reads the manifest). A rewritten file keeps its compaction level
 * and its rows' `commit_seq`/`row_seq`, so tie-breaking between the surviving rows is unchanged.
 *
 * Files are chosen from the manifest's per-file feature list (files without one are read to check), so a
 * drop costs the files that hold the features, not the whole store. Resolves with rows erased and files
 * touched; `null` when a file disappeared meanwhile (another process compacted it): the caller refreshes
 * the manifest and tries again.
 */
export async function dropFromFiles(
  deps: CompactionDeps,
  manifest: OfflineManifest,
  features: readonly string[],
  insertedBefore: number,
  signal?: AbortSignal,
): Promise<DropResult | null> {
  const wanted = new Set(features);
  const namespaces = new Set(features.map((fqn) => fqn.slice(0, fqn.indexOf('.'))));
  const candidates = manifest
    .visible({ namespaces })
    .filter((file) => !file.features || file.features.some((f) => wanted.has(f)));
  if (candidates.length === 0) return { rows: 0, files: 0 };
  const paths = await deps.stage(candidates, signal);
  if (!paths) return null;
  const condition = `feature IN (${features.map(quote).join(', ')}) AND epoch_ms(inserted_at) <= ${Math.trunc(insertedBefore)}`;
  const adds: DataFile[] = [];
  const removes: DataFile[] = [];
  const ownAdds: string[] = [];
  let erased = 0;
  for (const [i, file] of candidates.entries()) {
    signal?.throwIfAborted();
    const path = paths[i]!;
    const [hit, kept, lo, hi, keptFeatures] = await deps.withConnection(
      async (connection) =>
        (
          await connection.runAndReadAll(
            `SELECT count(*) FILTER (WHERE ${condition})::BIGINT, count(*) FILTER (WHERE NOT (${condition}))::BIGINT, min(epoch_ms(observed_at)) FILTER (WHERE NOT (${condition})), max(epoch_ms(observed_at)) FILTER (WHERE NOT (${condition})), list(DISTINCT feature ORDER BY feature) FILTER (WHERE NOT (${condition})) FROM read_parquet(${quote(path)})`,
          )
        ).getRowsJS()[0]!,
    );
    if (Number(hit) === 0) continue;
    erased += Number(hit);
    removes.push(file);
    if (Number(kept) === 0) continue;
    const level = levelOf(file);
    const key = `${dirname(file.key)}/${randomUUID()}-${level === 0 ? 'd' : `c${level}`}.parquet`;
    const local = join(deps.staging, key);
    await mkdir(dirname(local), { recursive: true });
    await deps.withConnection((connection) =>
      connection.run(
        `COPY (SELECT * FROM read_parquet(${quote(path)}) WHERE NOT (${condition}) ORDER BY feature, pkey, observed_at) TO ${quote(local)} (FORMAT parquet, COMPRESSION zstd)`,
      ),
    );
    const bytes = await readFile(local);
    await deps.objectStore.put('data', key, bytes);
    // A rewrite of another process's file stays out of this process's compaction after writes.
    if (deps.own.has(file.key)) ownAdds.push(key);
    adds.push({
      key,
      namespace: file.namespace,
      date: file.date,
      rows: Number(kept),
      bytes: bytes.length,
      minObservedAt: Number(lo),
      maxObservedAt: Number(hi),
      features: (keptFeatures as unknown[]).map(String),
    });
  }
  if (removes.length === 0) return { rows: 0, files: 0 };
  signal?.throwIfAborted();
  await manifest.commit({ ids: [], adds, removes: removes.map((f) => f.key) });
  for (const key of ownAdds) deps.own.add(key);
  for (const file of removes) {
    deps.own.delete(file.key);
    await deps.objectStore.delete('data', file.key);
    await rm(join(deps.staging, file.key), { force: true });
  }
  return { rows: erased, files: removes.length };
}
