import { SlateError } from '@slate/graph';
import pg from 'pg';
import type { SqlRows, SqlSource, SqlStatement } from '../sql-source.ts';

export interface PostgresSqlSourceOptions {
  /** `postgres://user:password@host:5432/db` */
  readonly url: string;
  /** Pool size (default 4). */
  readonly maxConnections?: number;
  /** Per-statement timeout in ms (default 30 000). */
  readonly statementTimeoutMs?: number;
}

// int8 and numeric arrive as text from pg; resolvers expect numbers (exact up to 2^53, like `int()` features).
const types = {
  getTypeParser: (oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * A PostgreSQL data source on a `pg` pool.
 *
 * @example
 * const source = createPostgresSqlSource({ url: 'postgres://app@db:5432/shop' });
 */
export function createPostgresSqlSource(options: PostgresSqlSourceOptions): SqlSource {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 4,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    types,
  });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead
  return {
    dialect: 'postgres',
    async init() {
      await run(pool, { text: 'select 1', params: [] });
    },
    async close() {
      await pool.end();
    },
    query: (statement, signal) => run(pool, statement, signal),
  };
}

async function run(pool: pg.Pool, statement: SqlStatement, signal?: AbortSignal): Promise<SqlRows> {
  signal?.throwIfAborted();
  try {
    const result = await pool.query({ text: statement.text, values: [...statement.params] });
    return { columns: result.fields.map((f) => f.name), rows: result.rows };
  } catch (error) {
    throw translate(error);
  }
}

function translate(error: unknown): SlateError {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', '57P01', '08006', '08001'].includes(code)) {
    return new SlateError(
      'unavailable',
      'SOURCE_UNAVAILABLE',
      `PostgreSQL source unavailable: ${message}`,
      undefined,
      { cause: error },
    );
  }
  if (code === '57014')
    return new SlateError('timeout', 'SOURCE_TIMEOUT', `PostgreSQL statement timed out: ${message}`);
  return new SlateError('input', 'SOURCE_QUERY_FAILED', `PostgreSQL rejected the query: ${message}`, {
    sqlstate: code,
  });
}
