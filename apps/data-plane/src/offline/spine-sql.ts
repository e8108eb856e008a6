import type { SqlSources } from '@slate/engine';
import { SlateError } from '@slate/graph';
import { INPUT_TIME_COLUMNS } from './offline-query-request.ts';

/** Column names a spine query's input time may carry (`ts` as the seed product documents it). */
export const SPINE_TIME_COLUMNS = ['ts', ...INPUT_TIME_COLUMNS] as const;

/** The spine a `spine_sql_query` produced, column-major like an offline query's `input`. */
export interface Spine {
  /** The primary key's FQN, `__ts__` when the query returned a time, then other features' FQNs. */
  readonly columns: string[];
  readonly values: unknown[][];
}

export interface SpineSqlOptions {
  /** The environment's named SQL data sources (as SQL resolvers see them). */
  readonly sources: SqlSources;
  /** The output namespace's primary key FQN, e.g. `user.id`. */
  readonly primaryKey: string;
  /** FQNs of the namespace's features: columns named like them become inputs. */
  readonly features: ReadonlySet<string>;
  /** At most this many rows are read (pushed down as `LIMIT`). */
  readonly maxSamples?: number | null;
  readonly signal?: AbortSignal;
}

const SOURCE_DIRECTIVE = /^\s*--\s*source\s*:\s*([A-Za-z_][\w-]*)\s*$/m;

/**
 * Runs an offline query's `spine_sql_query` against one of the environment's SQL data sources and returns
 * the spine (the rows to sample or recompute). The source is the one named by a `-- source: NAME` comment
 * line in the query (as in SQL file resolvers), or the environment's only source. The query must be one
 * `SELECT` (or `WITH … SELECT`): it is run as a derived table, `SELECT * FROM (<query>) AS spine LIMIT n`,
 * so a second statement or a data-modifying CTE is a syntax error on the source, not a side effect. Rows
 * keep the order the source returns them in; MySQL/MariaDB may ignore an `ORDER BY` inside a derived table
 * that has no `LIMIT`, so order there only matters with `max_samples` (which keeps the first rows).
 *
 * Columns: the primary key is the column named by its FQN (`user.id`) or its bare name (`id`), else the
 * first column; the input time is `ts` (or `__ts__`, `__chalk__.CHALK_TS`) — "the 'ts' column is always
 * interpreted as the query execution time for the row" — and rows without one are sampled at submit time;
 * a column named like a feature of the namespace (FQN or bare name) is passed as that input; other columns
 * are ignored.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) for an unknown or ambiguous source, a non-SELECT query,
 *   a NULL primary key or a time that is not a timestamp; the data source's error (`SOURCE_QUERY_FAILED`
 *   for a query it rejects, `SOURCE_TIMEOUT`, ...) with the source named in the message; `SPINE_SQL_FAILED`
 *   (kind `unavailable`) for any other failure of the source.
 * @example
 * const spine = await runSpineSql('-- source: app_db\nselect id, signup_at as ts from users', {
 *   sources, primaryKey: 'user.id', features: new Set(['user.id', 'user.name']),
 * });
 */
export async function runSpineSql(query: string, options: SpineSqlOptions): Promise<Spine> {
  const body = query.trim().replace(/;\s*$/, '');
  const statement = body.replace(/^(\s*--[^\n]*\n)*/g, '').trimStart();
  if (!/^(select|with)\b/i.test(statement))
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      'spine_sql_query must be a single SELECT (or WITH … SELECT)',
    );
  const named = SOURCE_DIRECTIVE.exec(body)?.[1];
  const names = [...options.sources.keys()];
  if (names.length === 0)
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      'spine_sql_query needs a SQL data source, and none is configured for this environment',
    );
  if (named === undefined && names.length > 1)
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `spine_sql_query must name its data source with a '-- source: NAME' line (one of ${names.join(', ')})`,
    );
  const name = named ?? names[0]!;
  const source = options.sources.get(name);
  if (!source)
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `spine_sql_query names data source '${name}', which is not configured (have ${names.join(', ')})`,
    );
  const limit = options.maxSamples ? ` LIMIT ${Math.floor(options.maxSamples)}` : '';
  let result: Awaited<ReturnType<typeof source.query>>;
  try {
    result = await source.query(
      { text: `SELECT * FROM (\n${body}\n) AS spine${limit}`, params: [] },
      options.signal,
    );
  } catch (error) {
    // The source's own code (SOURCE_QUERY_FAILED for a rejected query, SOURCE_TIMEOUT, ...) is kept.
    const message = `spine_sql_query failed on data source '${name}': ${error instanceof Error ? error.message : String(error)}`;
    if (error instanceof SlateError)
      throw new SlateError(error.kind, error.code, message, error.details, { cause: error });
    throw new SlateError('unavailable', 'SPINE_SQL_FAILED', message, undefined, { cause: error });
  }
  if (result.columns.length === 0)
    throw new SlateError('input', 'INVALID_QUERY', 'spine_sql_query returned no columns');

  const namespace = options.primaryKey.slice(0, options.primaryKey.indexOf('.'));
  const fqnOf = (column: string) => (column.includes('.') ? column : `${namespace}.${column}`);
  const keyColumn =
    result.columns.find((c) => c === options.primaryKey || fqnOf(c) === options.primaryKey) ??
    result.columns[0]!;
  const timeColumn = result.columns.find(
    (c) => c !== keyColumn && (SPINE_TIME_COLUMNS as readonly string[]).includes(c),
  );
  const inputColumns = result.columns.filter(
    (c) => c !== keyColumn && c !== timeColumn && options.features.has(fqnOf(c)),
  );
  const columns = [options.primaryKey];
  const values: unknown[][] = [
    result.rows.map((row, i) => {
      const key = row[keyColumn];
      if (key === null || key === undefined)
        throw new SlateError(
          'input',
          'INVALID_QUERY',
          `spine_sql_query row ${i} has no primary key (column '${keyColumn}' is NULL)`,
        );
      return key instanceof Date ? key.toISOString() : key;
    }),
  ];
  if (timeColumn) {
    columns.push('__ts__');
    values.push(
      result.rows.map((row, i) => {
        const raw = row[timeColumn];
        if (raw === null || raw === undefined) return null;
        const t =
          raw instanceof Date ? raw.getTime() : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
        if (!Number.isFinite(t))
          throw new SlateError(
            'input',
            'INVALID_QUERY',
            `spine_sql_query row ${i}: '${timeColumn}' is not a timestamp (${JSON.stringify(raw)})`,
          );
        return new Date(t).toISOString();
      }),
    );
  }
  for (const column of inputColumns) {
    columns.push(fqnOf(column));
    values.push(
      result.rows.map((row) =>
        row[column] instanceof Date ? (row[column] as Date).toISOString() : row[column],
      ),
    );
  }
  return { columns, values };
}
