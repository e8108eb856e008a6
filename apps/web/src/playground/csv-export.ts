import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { PARQUET_COMPRESSORS } from './parquet-preview.ts';

/**
 * Rows a CSV made in the page may hold: the parts are read into memory whole, so beyond this the page
 * refuses (the Parquet download has every row, and `slate offline-query --out x.csv` converts any size).
 */
export const MAX_CSV_ROWS = 200_000;

/** One cell as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break; null is empty. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'bigint'
      ? value.toString()
      : value instanceof Date
        ? value.toISOString()
        : typeof value === 'object'
          ? JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
          : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The rows of an offline query's Parquet parts as one CSV text (header from the first part's columns, CRLF
 * line ends as RFC 4180 has them; lists and structs as JSON; times as ISO 8601).
 *
 * @throws Error when the parts hold more than `maxRows` rows, or a part is not Parquet.
 * @example
 * const csv = await parquetPartsToCsv([await api.offlineQueryPart(env, revision, 0)]);
 */
export async function parquetPartsToCsv(
  parts: readonly ArrayBuffer[],
  maxRows = MAX_CSV_ROWS,
): Promise<string> {
  const metadata = parts.map((bytes) => parquetMetadata(bytes));
  const total = metadata.reduce((n, m) => n + Number(m.num_rows), 0);
  if (total > maxRows)
    throw new Error(
      `${total.toLocaleString('en')} rows: more than ${maxRows.toLocaleString('en')} for a CSV made in the page; download the Parquet instead`,
    );
  const first = metadata[0];
  const columns = first ? parquetSchema(first).children.map((child) => child.element.name) : [];
  const lines = [columns.map(csvCell).join(',')];
  for (const [i, bytes] of parts.entries()) {
    const rows = await parquetReadObjects({
      file: bytes,
      metadata: metadata[i],
      compressors: PARQUET_COMPRESSORS,
    });
    for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
