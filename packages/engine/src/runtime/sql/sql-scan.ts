import {
  changedGroupsQuery,
  groupHighWaterQuery,
  type ResolverSpec,
  SlateError,
  SQL_INCREMENTAL_PARAMETERS,
} from '@slate/graph';
import { bindSqlTemplate, compileSqlTemplate, quoteIdentifier, type SqlStatement } from '@slate/stores';
import type { SqlSources } from './sql-runtime.ts';

/** Bounds and position of a batch scan of a SQL resolver (a scheduled or triggered run). */
export interface SqlScanOptions {
  readonly now: Date;
  /** Only rows whose bound column is at or after this. */
  readonly lowerBound?: Date;
  /** Only rows whose bound column is before this. */
  readonly upperBound?: Date;
  /**
   * The output column bounds apply to: the resolver's incremental column by default in `row` mode (else
   * the caller passes the feature-time column). In `group` mode bounds and `after` apply to the incremental
   * column of the queried tables instead.
   */
  readonly boundColumn?: string;
  /**
   * Incremental `row` and `group` runs: only rows (groups with a row) whose incremental column is greater
   * than this (the last high-water mark, less the lookback).
   */
  readonly after?: unknown;
  /**
   * Incremental `parameter` runs: the values of `${chalk_incremental_timestamp}` and
   * `${chalk_last_execution_timestamp}` (both 1970-01-01 by default: everything).
   */
  readonly incrementalTimestamp?: Date;
  readonly lastExecutionTimestamp?: Date;
  /** Rows per page (default 50,000). */
  readonly pageSize?: number;
  /** Stops the scan between pages (and aborts the page's query where the source supports it). */
  readonly signal?: AbortSignal;
}

/** One page of a scan. */
export interface SqlScanPage {
  /** Rows by feature FQN. */
  readonly rows: readonly Record<string, unknown>[];
  /**
   * The high-water mark the scan reaches once it is complete: the greatest bound-column value seen so far
   * (`row` mode and bounded scans), or, in `group` mode, the greatest incremental-column value of the rows
   * the query aggregates (measured before the first page).
   */
  readonly highWater: unknown;
  /** Each row's bound-column value (same order as `rows`), when there is a bound column on the output. */
  readonly boundValues?: readonly unknown[];
  /**
   * Rows come in ascending order of `boundValues` (incremental `row` mode): a scan stopped after any row
   * has read every row whose bound value is below that row's.
   */
  readonly ordered: boolean;
}

const EPOCH = new Date(0);

/**
 * Reads every row a SQL resolver's query returns, page by page, within bounds and after a high-water mark;
 * each row's values keyed by feature FQN. A resolver with `${feature}` parameters cannot be scanned.
 *
 * Incremental modes (chalk.md §2.2): `row` filters the query's output on its incremental column and pages
 * in that column's order (then the primary key's), so a scan stopped early has a mark it can safely resume
 * from; `group` rewrites the GROUP BY query to re-aggregate only the groups with an underlying row past
 * `after` (see `changedGroupsQuery`); `parameter` binds `${chalk_incremental_timestamp}` and
 * `${chalk_last_execution_timestamp}` and leaves the query alone. Other scans page by the primary key
 * (keyset) when it is selected, else by offsets.
 *
 * @throws SlateError `INVALID_RUN` for a resolver with feature parameters, bounds without a bound column or
 * a `group` query that cannot be rewritten; `DATA_SOURCE_NOT_CONFIGURED`; the source's errors; the
 * signal's reason once it is aborted.
 * @example
 * for await (const page of scanSqlResolver(spec, sources, { now: new Date() })) console.log(page.rows.length);
 */
export async function* scanSqlResolver(
  spec: ResolverSpec,
  sources: SqlSources,
  options: SqlScanOptions,
): AsyncGenerator<SqlScanPage> {
  const sql = spec.sql;
  if (!sql) throw new SlateError('input', 'INVALID_RUN', `${spec.fqn} is not a SQL resolver`);
  if (sql.keyColumn === undefined && spec.dataframe === undefined)
    throw new SlateError(
      'input',
      'INVALID_RUN',
      `SQL resolver ${spec.fqn} takes \${feature} parameters: it cannot be run over its whole source`,
    );
  const source = sources.get(sql.dataSource);
  if (!source)
    throw new SlateError(
      'unavailable',
      'DATA_SOURCE_NOT_CONFIGURED',
      `data source '${sql.dataSource}' (of SQL resolver ${spec.fqn}) is not configured in this environment`,
    );
  const mode = sql.incremental?.mode;
  const values: Record<string, unknown> = {
    now: options.now,
    [SQL_INCREMENTAL_PARAMETERS[0]]: options.incrementalTimestamp ?? EPOCH,
    [SQL_INCREMENTAL_PARAMETERS[1]]: options.lastExecutionTimestamp ?? EPOCH,
  };
  const q = (name: string) => quoteIdentifier(source.dialect, name);
  const placeholder = (params: unknown[], value: unknown) => {
    params.push(value);
    return source.dialect === 'postgres' ? `$${params.length}` : '?';
  };

  let query = sql.query;
  let groupHighWater: unknown = null;
  let boundColumn = options.boundColumn ?? (mode === 'row' ? sql.incremental?.column : undefined);
  let after = options.after ?? undefined;
  let lowerBound = options.lowerBound;
  let upperBound = options.upperBound;
  if (mode === 'group') {
    // The incremental column is one of the queried tables: bounds and the mark select changed groups.
    const column = sql.incremental!.column!;
    const changed: string[] = [];
    const bounds: string[] = [];
    if (lowerBound !== undefined) bounds.push(`${column} >= \${slate_lower_bound}`);
    if (upperBound !== undefined) bounds.push(`${column} < \${slate_upper_bound}`);
    if (after !== undefined && after !== null) changed.push(`${column} > \${slate_after}`);
    changed.push(...bounds);
    Object.assign(values, {
      slate_lower_bound: lowerBound,
      slate_upper_bound: upperBound,
      slate_after: after,
    });
    options.signal?.throwIfAborted();
    const highWater = await source.query(
      bindSqlTemplate(compileSqlTemplate(groupHighWaterQuery(query, column, bounds), source.dialect), values),
      options.signal,
    );
    groupHighWater = Object.values(highWater.rows[0] ?? {})[0] ?? null;
    if (changed.length > 0) query = changedGroupsQuery(query, changed.join(' and '));
    boundColumn = undefined;
    after = undefined;
    lowerBound = undefined;
    upperBound = undefined;
  }
  const inner = bindSqlTemplate(compileSqlTemplate(query, source.dialect), values);
  const bounded =
    lowerBound !== undefined || upperBound !== undefined || (after !== undefined && after !== null);
  if (bounded && boundColumn === undefined)
    throw new SlateError(
      'input',
      'INVALID_RUN',
      `SQL resolver ${spec.fqn} has no incremental or feature-time column to apply bounds to`,
    );
  const column = boundColumn === undefined ? undefined : `slate_q.${q(boundColumn)}`;
  const params = [...inner.params];
  const where: string[] = [];
  if (column && lowerBound !== undefined) where.push(`${column} >= ${placeholder(params, lowerBound)}`);
  if (column && upperBound !== undefined) where.push(`${column} < ${placeholder(params, upperBound)}`);
  if (column && after !== undefined && after !== null)
    where.push(`${column} > ${placeholder(params, after)}`);

  const keyColumn = sql.keyColumn;
  const key = keyColumn === undefined ? undefined : `slate_q.${q(keyColumn)}`;
  const ordered = mode === 'row' && column !== undefined;
  const pageSize = options.pageSize ?? 50_000;
  const innerText = inner.text.trim().replace(/;\s*$/, '');
  // The keyset cursor on the bound column is the database's own text of the value: a JS Date keeps
  // milliseconds, a timestamp may hold microseconds, and `col = <rounded value>` would never match.
  const cursorText =
    column === undefined
      ? undefined
      : source.dialect === 'postgres'
        ? `cast(${column} as text)`
        : `cast(${column} as char)`;

  const byNormalized = new Map(spec.outputs.map((output) => [normalize(output.param), output.fqn]));
  const keyFqn = spec.inputs[0]?.fqn;
  if (keyColumn && keyFqn) byNormalized.set(normalize(keyColumn), keyFqn);
  let highWater: unknown = mode === 'group' ? groupHighWater : (options.after ?? null);

  /** One pass over the rows matching `conditions`, in `order`, continued by `resume` after each page. */
  const pass = async function* (phase: {
    conditions: readonly string[];
    order: 'bound' | 'key' | 'none';
  }): AsyncGenerator<SqlScanPage> {
    let cursor: { bound?: unknown; key?: unknown } | undefined;
    for (let offset = 0; ; offset += pageSize) {
      options.signal?.throwIfAborted();
      const pageParams = [...params];
      const conditions = [...phase.conditions];
      const keyset = phase.order === 'key' ? key !== undefined : phase.order === 'bound';
      if (cursor && phase.order === 'key' && key)
        conditions.push(`${key} > ${placeholder(pageParams, cursor.key)}`);
      if (cursor && phase.order === 'bound' && column) {
        const bound = placeholder(pageParams, cursor.bound);
        conditions.push(
          key
            ? `(${column} > ${bound} or (${column} = ${placeholder(pageParams, cursor.bound)} and ${key} > ${placeholder(pageParams, cursor.key)}))`
            : `${column} > ${bound}`,
        );
      }
      const order =
        phase.order === 'bound'
          ? [column!, ...(key ? [key] : [])]
          : phase.order === 'key' && key
            ? [key]
            : [];
      // Without a key, ties on the bound column cannot be told apart by a keyset: offsets then.
      const byOffset = !keyset || (phase.order === 'bound' && !key);
      const statement: SqlStatement = {
        text: `select slate_q.*${cursorText ? `, ${cursorText} as slate_cursor` : ''} from (${innerText}) as slate_q${
          conditions.length > 0 ? ` where ${conditions.join(' and ')}` : ''
        }${order.length > 0 ? ` order by ${order.join(', ')}` : column ? ` order by ${column}` : ''} limit ${pageSize}${
          byOffset ? ` offset ${offset}` : ''
        }`,
        params: pageParams,
      };
      const result = await source.query(statement, options.signal);
      const pairs = result.columns.flatMap((c) => {
        const fqn = byNormalized.get(normalize(c));
        return fqn === undefined ? [] : [[c, fqn] as const];
      });
      const boundKey = boundColumn === undefined ? undefined : findColumn(result.columns, boundColumn);
      const boundValues: unknown[] = [];
      const rows = result.rows.map((row) => {
        const out: Record<string, unknown> = {};
        for (const [c, fqn] of pairs) out[fqn] = row[c] ?? null;
        if (boundKey !== undefined) {
          const value = row[boundKey] ?? null;
          boundValues.push(value);
          if (value != null && (highWater == null || compareValues(value, highWater) > 0)) highWater = value;
        }
        return out;
      });
      const last = result.rows[result.rows.length - 1];
      if (last && !byOffset) {
        const keyName =
          keyColumn === undefined ? undefined : (findColumn(result.columns, keyColumn) ?? keyColumn);
        cursor = { bound: last.slate_cursor, key: keyName === undefined ? undefined : last[keyName] };
      }
      if (rows.length > 0)
        yield { rows, highWater, ordered, ...(boundKey !== undefined ? { boundValues } : {}) };
      if (result.rows.length < pageSize) return;
    }
  };

  if (!ordered) {
    yield* pass({ conditions: where, order: key ? 'key' : 'none' });
    return;
  }
  // Incremental rows in the order of their incremental column; rows where it is NULL (never past any mark)
  // come last, and only in an unbounded scan (a first run reads everything).
  yield* pass({ conditions: [...where, `${column} is not null`], order: 'bound' });
  if (!bounded) yield* pass({ conditions: [`${column} is null`], order: key ? 'key' : 'none' });
}

function normalize(name: string): string {
  return name.toLowerCase().replaceAll('_', '');
}

function findColumn(columns: readonly string[], name: string): string | undefined {
  return columns.find((column) => normalize(column) === normalize(name));
}

/** Orders bound-column values: dates by time, numbers numerically, anything else as text. */
export function compareValues(a: unknown, b: unknown): number {
  const value = (v: unknown) =>
    v instanceof Date ? v.getTime() : typeof v === 'number' || typeof v === 'bigint' ? Number(v) : String(v);
  let x = value(a);
  let y = value(b);
  // A mark read back from storage is an ISO string while rows carry Dates: compare as times.
  if (typeof x !== typeof y) {
    x = typeof x === 'string' ? Date.parse(x) : x;
    y = typeof y === 'string' ? Date.parse(y) : y;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}
