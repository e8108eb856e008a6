import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { OfflineBatch, RecordBatch } from '../offline-store.ts';
import type { DataFile } from './offline-manifest.ts';
import type { ParquetCompactor } from './parquet-compactor.ts';
import { checkFeature, checkTable, type ParquetFiles, quote } from './parquet-files.ts';
import type { ParquetOfflineStoreOptions } from './parquet-offline-store-options.ts';

/** The Parquet store's writes: observations and record tables, each a commit of new files. */
export interface ParquetWriter {
  /** Writes the batches not committed yet; resolves with how many it wrote. Serialised by the caller. */
  write(environment: string, batches: readonly OfflineBatch[], signal?: AbortSignal): Promise<number>;
  /** Appends record batches to `table`: one Parquet file per commit. Serialised by the caller. */
  appendRecords(
    environment: string,
    table: string,
    batches: readonly RecordBatch[],
    signal?: AbortSignal,
  ): Promise<number>;
}

/** The writer of one Parquet offline store. */
export function createParquetWriter(
  files: ParquetFiles,
  compactor: ParquetCompactor,
  options: ParquetOfflineStoreOptions,
): ParquetWriter {
  const writeRefreshMs = options.writeRefreshMs ?? 1_000;
  /** The commit stamp of the last write of this process (µs), so commits are strictly ordered. */
  let lastCommitSeq = 0;

  const write = async (
    environment: string,
    batches: readonly OfflineBatch[],
    signal?: AbortSignal,
  ): Promise<number> => {
    const manifest = files.manifestOf(environment);
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
    const workDir = await mkdtemp(join(files.staging, '.write-'));
    try {
      const adds: DataFile[] = [];
      await files.withConnection(async (connection) => {
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
            await files.objectStore.put('data', key, bytes);
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
      for (const file of adds) files.own.add(file.key);
      await compactor.afterWrite(environment, manifest, adds, signal);
      return fresh.length;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };

  /** Record tables: one Parquet file per commit, `batch_id, row_index, row (JSON text), inserted_at`. */
  const appendRecords = async (
    environment: string,
    table: string,
    batches: readonly RecordBatch[],
    signal?: AbortSignal,
  ): Promise<number> => {
    checkTable(table);
    const manifest = files.manifestOf(environment);
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
    const local = join(files.staging, key);
    await mkdir(dirname(local), { recursive: true });
    const rows = await files.withConnection(async (connection) => {
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
    await files.objectStore.put('data', key, bytes);
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
    files.own.add(added.key);
    await compactor.afterWrite(environment, manifest, [added], signal);
    return fresh.length;
  };

  return { write, appendRecords };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}
