/**
 * A SQL data source that SQL resolvers read from: PostgreSQL or MySQL/MariaDB, configured per environment
 * with its credentials. Values come back as JS values by column type: integers and decimals as numbers
 * (exact up to 2^53), timestamps as `Date`, text as strings, booleans as booleans, NULL as `null`.
 */
export interface SqlSource {
  readonly dialect: SqlDialect;
  init(): Promise<void>;
  close(): Promise<void>;
  /** Runs one statement whose placeholders are the dialect's (`$1` for PostgreSQL, `?` for MySQL). */
  query(statement: SqlStatement, signal?: AbortSignal): Promise<SqlRows>;
}

export type SqlDialect = 'postgres' | 'mysql';

export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** Rows as objects keyed by column name, and the column names in select order. */
export interface SqlRows {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}
