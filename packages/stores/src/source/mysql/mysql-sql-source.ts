import { SlateError } from '@slate/graph';
import mysql from 'mysql2/promise';
import type { SqlRows, SqlSource, SqlStatement } from '../sql-source.ts';

export interface MysqlSqlSourceOptions {
  /** `mysql://user:password@host:3306/db` (MySQL or MariaDB). */
  readonly url: string;
  readonly maxConnections?: number;
}

/**
 * A MySQL or MariaDB data source on a `mysql2` pool. Timestamps are read as UTC; DECIMAL and BIGINT come back
 * as numbers.
 *
 * @example
 * const source = createMysqlSqlSource({ url: 'mysql://root@127.0.0.1:3306/test' });
 */
export function createMysqlSqlSource(options: MysqlSqlSourceOptions): SqlSource {
  const pool = mysql.createPool({
    uri: options.url,
    connectionLimit: options.maxConnections ?? 4,
    timezone: 'Z',
    decimalNumbers: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: false,
    typeCast: (field, next) =>
      field.type === 'TINY' && field.length === 1 ? tinyToBool(field.string()) : next(),
  });
  return {
    dialect: 'mysql',
    async init() {
      await run(pool, { text: 'select 1', params: [] });
    },
    async close() {
      await pool.end();
    },
    query: (statement, signal) => run(pool, statement, signal),
  };
}

/** BOOLEAN is TINYINT(1) in MySQL: read it as a boolean. */
function tinyToBool(text: string | null): boolean | null {
  return text === null ? null : text !== '0';
}

async function run(pool: mysql.Pool, statement: SqlStatement, signal?: AbortSignal): Promise<SqlRows> {
  signal?.throwIfAborted();
  try {
    const [rows, fields] = await pool.query({ sql: statement.text, values: [...statement.params] });
    return { columns: (fields ?? []).map((f) => f.name), rows: rows as Record<string, unknown>[] };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const message = error instanceof Error ? error.message : String(error);
    if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST'].includes(code)) {
      throw new SlateError(
        'unavailable',
        'SOURCE_UNAVAILABLE',
        `MySQL source unavailable: ${message}`,
        undefined,
        { cause: error },
      );
    }
    throw new SlateError('input', 'SOURCE_QUERY_FAILED', `MySQL rejected the query: ${message}`, { code });
  }
}
