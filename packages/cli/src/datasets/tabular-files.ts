import { extname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SlateError } from '@slate/graph';

/** The formats `slate upload` and `slate offline-query --input` read, and `--out` writes. */
export type TabularFormat = 'csv' | 'parquet';

/** `csv` or `parquet` from a file name (`.csv`, `.tsv`, `.parquet`, `.pq`); undefined otherwise. */
export function tabularFormatOf(path: string): TabularFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv' || extension === '.tsv') return 'csv';
  if (extension === '.parquet' || extension === '.pq') return 'parquet';
  return undefined;
}

/**
 * Reads a CSV (header row, types sniffed) or Parquet file into columns named by its header, with DuckDB.
 * Integers become numbers (strings past 2^53), timestamps ISO strings.
 *
 * @throws SlateError `input`: `INVALID_INPUT_FILE` when the file cannot be read as its format,
 *   `INPUT_FILE_TOO_LARGE` past `maxRows` rows (the file is never loaded whole beyond that).
 * @example
 * const columns = await readColumnsFile('users.csv', { maxRows: 100_000 }); // { 'user.id': [1, 2] }
 */
export async function readColumnsFile(
  path: string,
  options: { readonly maxRows: number },
): Promise<Record<string, unknown[]>> {
  const format = tabularFormatOf(path);
  if (!format)
    throw new SlateError('input', 'INVALID_INPUT_FILE', `${path}: expected a .csv or .parquet file`);
  const source =
    format === 'csv'
      ? `read_csv_auto(${sqlString(path)}, header = true)`
      : `read_parquet(${sqlString(path)})`;
  return withDuckDb(async (run) => {
    let reader: Awaited<ReturnType<typeof run>>;
    try {
      // One row past the limit tells "too large" from "exactly at the limit" without reading the rest.
      reader = await run(`SELECT * FROM ${source} LIMIT ${options.maxRows + 1}`);
    } catch (cause) {
      throw new SlateError('input', 'INVALID_INPUT_FILE', `${path}: ${(cause as Error).message}`, undefined, {
        cause,
      });
    }
    const names = reader.columnNames();
    const columns = reader.getColumnsJS();
    if ((columns[0]?.length ?? 0) > options.maxRows)
      throw new SlateError(
        'input',
        'INPUT_FILE_TOO_LARGE',
        `${path} holds more than ${options.maxRows} rows (raise --max-rows, or use --spine-sql)`,
      );
    return Object.fromEntries(names.map((name, i) => [name, (columns[i] ?? []).map(toJsonValue)]));
  });
}

/**
 * Writes Parquet `parts` (a dataset's result files) as one file at `out`, Parquet or CSV by its extension;
 * answers the number of rows.
 * @throws SlateError `input`/`INVALID_OUTPUT_FILE` for another extension.
 */
export async function writeDatasetFile(parts: readonly string[], out: string): Promise<number> {
  const format = tabularFormatOf(out);
  if (!format)
    throw new SlateError('input', 'INVALID_OUTPUT_FILE', `${out}: expected a .parquet or .csv file name`);
  return withDuckDb(async (run) => {
    const source = `read_parquet([${parts.map(sqlString).join(', ')}], union_by_name = true)`;
    await run(
      `COPY (SELECT * FROM ${source}) TO ${sqlString(out)} (FORMAT ${format === 'csv' ? 'csv, HEADER true' : 'parquet'})`,
    );
    const count = await run(`SELECT count(*)::BIGINT FROM ${source}`);
    return Number(count.getRowsJS()[0]?.[0] ?? 0);
  });
}

type Run = (sql: string) => ReturnType<Awaited<ReturnType<DuckDBInstance['connect']>>['runAndReadAll']>;

/** Runs `work` on an in-memory DuckDB with one thread (a CLI shares the machine), closed afterwards. */
async function withDuckDb<T>(work: (run: Run) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  try {
    const connection = await instance.connect();
    try {
      return await work((sql) => connection.runAndReadAll(sql));
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return String(value);
  return value;
}
