import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type {
  SampledColumn,
  SampleRequest,
  SampleResult,
  ScanOptions,
  StoredObservation,
} from '../offline-store.ts';
import { jsonToColumnSql } from './json-column-sql.ts';
import {
  checkFeature,
  checkTable,
  ident,
  observationsSql,
  type ParquetFiles,
  quote,
} from './parquet-files.ts';

/** The Parquet store's reads: the point-in-time sample, the full scan and record tables. */
export interface ParquetSampler {
  sample(environment: string, request: SampleRequest, signal?: AbortSignal): Promise<SampleResult>;
  scan(environment: string, scanOptions?: ScanOptions): Promise<StoredObservation[]>;
  readRecords(environment: string, table: string, signal?: AbortSignal): Promise<Record<string, unknown>[]>;
}

/** The reader of one Parquet offline store. */
export function createParquetSampler(files: ParquetFiles): ParquetSampler {
  const sample = async (
    environment: string,
    request: SampleRequest,
    signal?: AbortSignal,
  ): Promise<SampleResult> => {
    const manifest = files.manifestOf(environment);
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
    const staged = await files.stageVisibleFiles(manifest, { namespaces, from, to }, signal);
    const pathsOf = (fqn: string) =>
      staged.filter(({ file }) => !file.features || file.features.includes(fqn)).map(({ path }) => path);

    return files.withConnection(async (connection) => {
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

  return {
    sample,
    async scan(environment, scanOptions: ScanOptions = {}) {
      const manifest = files.manifestOf(environment);
      const features = scanOptions.features;
      features?.forEach(checkFeature);
      const namespaces = features ? new Set(features.map((f) => f.slice(0, f.indexOf('.')))) : undefined;
      const paths = (await files.stageVisible(manifest, { namespaces })).filter(
        (path) => !path.includes('/tables/'),
      );
      return files.withConnection(async (connection) => {
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
    async readRecords(environment, table, signal) {
      checkTable(table);
      const paths = await files.stageVisible(
        files.manifestOf(environment),
        { namespaces: new Set([`table:${table}`]) },
        signal,
      );
      if (paths.length === 0) return [];
      return files.withConnection(async (connection) => {
        const reader = await connection.runAndReadAll(
          `SELECT row FROM read_parquet([${paths.map(quote).join(', ')}]) ORDER BY inserted_at, batch_id, row_index`,
        );
        return reader.getRowsJS().map(([row]) => JSON.parse(String(row)) as Record<string, unknown>);
      });
    },
  };
}
