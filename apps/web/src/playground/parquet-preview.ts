import { decompress } from 'fzstd';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';

/** The first rows of a Parquet file, and how many it holds. */
export interface ParquetPreview {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
  readonly totalRows: number;
}

/** The data plane writes ZSTD-compressed parts; hyparquet reads snappy and the uncompressed itself. */
export const PARQUET_COMPRESSORS = { ZSTD: (input: Uint8Array) => decompress(input) };

/** Rows shown in the preview at most (the download has them all). */
export const PREVIEW_ROWS = 50;

/**
 * Reads the first `limit` rows of a Parquet file (the data plane writes ZSTD-compressed parts; hyparquet
 * reads the other codecs it knows itself). 64-bit integers that fit in a double become numbers.
 *
 * @throws Error when the bytes are not a Parquet file.
 * @example
 * const preview = await previewParquet(await api.offlineQueryPart(env, revision, 0));
 */
export async function previewParquet(bytes: ArrayBuffer, limit = PREVIEW_ROWS): Promise<ParquetPreview> {
  const metadata = parquetMetadata(bytes);
  const totalRows = Number(metadata.num_rows);
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const rows = await parquetReadObjects({
    file: bytes,
    metadata,
    rowStart: 0,
    rowEnd: Math.min(limit, totalRows),
    compressors: PARQUET_COMPRESSORS,
  });
  return { columns, rows: rows.map(normalizeRow), totalRows };
}

function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, normalize(value)]));
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}
