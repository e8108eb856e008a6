import { type ResolverSpec, SlateError } from '@slate/graph';
import {
  bindSqlTemplate,
  compileSqlTemplate,
  pushDownIn,
  type SqlRows,
  type SqlSource,
  type SqlStatement,
  type SqlTemplate,
} from '@slate/stores';
import { withTimeout } from '../call-resolver.ts';
import {
  describeException,
  type ResolverCall,
  type ResolverOutcome,
  type ResolverRuntime,
} from '../resolver-runtime.ts';

/** The data sources SQL resolvers read from, by the name resolvers give (`source: 'app_db'`). */
export type SqlSources = ReadonlyMap<string, SqlSource>;

export interface SqlRuntimeOptions {
  /** The deployment's resolvers; those with `sql` settings run here. */
  readonly resolvers: readonly ResolverSpec[];
  readonly sources: SqlSources;
  /** Where every other resolver runs (the deployment's worker threads). */
  readonly fallback: ResolverRuntime;
}

/**
 * A runtime for SQL resolvers: their queries run against the environment's data sources here, in the
 * engine's process (no user code is involved, so no worker thread is needed); any other resolver goes to
 * `fallback`. For a resolver keyed by the primary key the requested keys of a whole batch are pushed down
 * into the query's WHERE (one round trip); with `${feature}` parameters the query runs once per distinct
 * parameter tuple. A failed query fails the rows of its call, as a resolver exception.
 *
 * @example
 * const runtime = createSqlRuntime({ resolvers: graph.resolvers, sources: new Map([['app_db', source]]), fallback: workers });
 */
export function createSqlRuntime(options: SqlRuntimeOptions): ResolverRuntime {
  const compiled = new Map<string, CompiledSqlResolver>();
  for (const spec of options.resolvers) if (spec.sql) compiled.set(spec.fqn, compileSqlResolver(spec));
  return {
    async call(request, signal) {
      const resolver = compiled.get(request.resolver);
      if (!resolver) return options.fallback.call(request, signal);
      return withTimeout(
        request.rows.length,
        request.timeoutMs,
        runSqlResolver(resolver, options.sources, request).catch((thrown: unknown) => {
          const error = describeException(thrown);
          return request.rows.map((): ResolverOutcome => ({ ok: false, error }));
        }),
      );
    },
    close: () => options.fallback.close(),
  };
}

/** A SQL resolver with its query compiled for one dialect at a time. */
interface CompiledSqlResolver {
  readonly spec: ResolverSpec & { sql: NonNullable<ResolverSpec['sql']> };
  readonly templates: Map<string, SqlTemplate>;
}

function compileSqlResolver(spec: ResolverSpec): CompiledSqlResolver {
  return { spec: spec as CompiledSqlResolver['spec'], templates: new Map() };
}

function templateFor(resolver: CompiledSqlResolver, source: SqlSource): SqlTemplate {
  let template = resolver.templates.get(source.dialect);
  if (!template) {
    template = compileSqlTemplate(resolver.spec.sql.query, source.dialect);
    resolver.templates.set(source.dialect, template);
  }
  return template;
}

function sourceOf(spec: ResolverSpec, sources: SqlSources): SqlSource {
  const name = spec.sql!.dataSource;
  const source = sources.get(name);
  if (!source)
    throw new SlateError(
      'unavailable',
      'DATA_SOURCE_NOT_CONFIGURED',
      `data source '${name}' (of SQL resolver ${spec.fqn}) is not configured in this environment`,
    );
  return source;
}

/** Output values of a result row, by output parameter: columns matched case-insensitively, `_` stripped. */
function rowMapper(spec: ResolverSpec, columns: readonly string[]) {
  const byNormalized = new Map(spec.outputs.map((output) => [normalize(output.param), output.param]));
  const pairs = columns.flatMap((column) => {
    const param = byNormalized.get(normalize(column));
    return param === undefined ? [] : [[column, param] as const];
  });
  return (row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    const outputs: Record<string, unknown> = {};
    for (const output of spec.outputs) outputs[output.param] = null;
    for (const [column, param] of pairs) outputs[param] = row[column] ?? null;
    return outputs;
  };
}

function normalize(name: string): string {
  return name.toLowerCase().replaceAll('_', '');
}

function findColumn(columns: readonly string[], name: string): string | undefined {
  return columns.find((column) => normalize(column) === normalize(name));
}

async function runSqlResolver(
  resolver: CompiledSqlResolver,
  sources: SqlSources,
  request: ResolverCall,
): Promise<ResolverOutcome[]> {
  const { spec } = resolver;
  const source = sourceOf(spec, sources);
  const template = templateFor(resolver, source);
  const base = (row: Readonly<Record<string, unknown>>) =>
    bindSqlTemplate(template, { ...row, now: request.context.now });

  if (spec.dataframe !== undefined) {
    const result = await source.query(base({}));
    const map = rowMapper(spec, result.columns);
    const rows = result.rows.map(map);
    return request.rows.map(() => ({ ok: true, outputs: { [spec.dataframe!]: rows } }));
  }

  const keyColumn = spec.sql.keyColumn;
  if (keyColumn !== undefined) {
    // One round trip for the batch: the requested keys pushed down into WHERE.
    const keyParam = spec.inputs[0]!.param;
    const keys = [...new Set(request.rows.map((row) => row[keyParam]).filter((key) => key != null))];
    const result = await source.query(pushDownIn(base({}), source.dialect, keyColumn, keys));
    return answerByKey(
      spec,
      result,
      keyColumn,
      request.rows.map((row) => row[keyParam]),
    );
  }

  // `${feature}` parameters: one query per distinct tuple, concurrently.
  const byTuple = new Map<string, Promise<SqlRows>>();
  const tupleOf = (row: Readonly<Record<string, unknown>>) =>
    JSON.stringify(spec.inputs.map((input) => row[input.param] ?? null));
  for (const row of request.rows) {
    const tuple = tupleOf(row);
    if (!byTuple.has(tuple)) byTuple.set(tuple, source.query(base(row)));
  }
  const settled = new Map<string, SqlRows | Error>();
  await Promise.all(
    [...byTuple].map(async ([tuple, rows]) => {
      settled.set(
        tuple,
        await rows.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
      );
    }),
  );
  return request.rows.map((row): ResolverOutcome => {
    const result = settled.get(tupleOf(row))!;
    if (result instanceof Error) return { ok: false, error: describeException(result) };
    return one(spec, result.rows[0], rowMapper(spec, result.columns));
  });
}

function answerByKey(
  spec: ResolverSpec,
  result: SqlRows,
  keyColumn: string,
  keys: readonly unknown[],
): ResolverOutcome[] {
  const column = findColumn(result.columns, keyColumn) ?? keyColumn;
  const map = rowMapper(spec, result.columns);
  const byKey = new Map<string, Readonly<Record<string, unknown>>>();
  for (const row of result.rows) {
    const key = String(row[column]);
    if (!byKey.has(key)) byKey.set(key, row);
  }
  return keys.map((key) => one(spec, key == null ? undefined : byKey.get(String(key)), map));
}

function one(
  spec: ResolverSpec,
  row: Readonly<Record<string, unknown>> | undefined,
  map: (row: Readonly<Record<string, unknown>>) => Record<string, unknown>,
): ResolverOutcome {
  if (row) return { ok: true, outputs: map(row) };
  if (spec.sql?.count === 'one')
    return {
      ok: false,
      error: { kind: 'LookupError', message: `SQL resolver ${spec.fqn} returned no row`, stacktrace: '' },
    };
  return { ok: true, outputs: Object.fromEntries(spec.outputs.map((output) => [output.param, null])) };
}

/** Bounds and position of a batch scan of a SQL resolver (a scheduled or triggered run). */
export interface SqlScanOptions {
  readonly now: Date;
  /** Only rows whose bound column is at or after this. */
  readonly lowerBound?: Date;
  /** Only rows whose bound column is before this. */
  readonly upperBound?: Date;
  /**
   * The column `lowerBound`/`upperBound` and `after` apply to: the resolver's incremental column by
   * default (else the caller passes the feature-time column).
   */
  readonly boundColumn?: string;
  /** Incremental runs: only rows whose bound column is greater than this (the last high-water mark). */
  readonly after?: unknown;
  /** Rows per page (default 50,000). */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** One page of a scan: rows by feature FQN, and the greatest bound-column value seen so far. */
export interface SqlScanPage {
  readonly rows: readonly Record<string, unknown>[];
  readonly highWater: unknown;
}

/**
 * Reads every row a SQL resolver's query returns, page by page (ordered by the bound column when there is
 * one), within bounds and after a high-water mark; each row's values keyed by feature FQN. A resolver
 * with `${feature}` parameters cannot be scanned (it needs inputs).
 *
 * @throws SlateError `INVALID_RUN` for a resolver with feature parameters, or bounds without a bound
 * column; `DATA_SOURCE_NOT_CONFIGURED`; the source's errors.
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
  const source = sourceOf(spec, sources);
  const template = compileSqlTemplate(sql.query, source.dialect);
  const inner = bindSqlTemplate(template, { now: options.now });
  const boundColumn = options.boundColumn ?? sql.incremental?.column;
  const bounded =
    options.lowerBound !== undefined || options.upperBound !== undefined || options.after !== undefined;
  if (bounded && boundColumn === undefined)
    throw new SlateError(
      'input',
      'INVALID_RUN',
      `SQL resolver ${spec.fqn} has no incremental or feature-time column to apply bounds to`,
    );
  const q = (name: string) => (source.dialect === 'postgres' ? `"${name}"` : `\`${name}\``);
  const params = [...inner.params];
  const placeholder = () => (source.dialect === 'postgres' ? `$${params.length}` : '?');
  const where: string[] = [];
  const add = (condition: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(placeholder()));
  };
  const column = boundColumn === undefined ? undefined : `slate_q.${q(boundColumn)}`;
  if (column && options.lowerBound !== undefined) add((p) => `${column} >= ${p}`, options.lowerBound);
  if (column && options.upperBound !== undefined) add((p) => `${column} < ${p}`, options.upperBound);
  if (column && options.after !== undefined && options.after !== null)
    add((p) => `${column} > ${p}`, options.after);
  // Pages: by the primary key column when there is one (keyset: each page an index range), else by the
  // bound column with offsets. The high-water mark is the greatest bound value seen, whatever the order.
  const keyColumn = sql.keyColumn;
  const order = keyColumn ? `slate_q.${q(keyColumn)}` : column;
  const pageSize = options.pageSize ?? 50_000;
  const base = `select * from (${inner.text.trim().replace(/;\s*$/, '')}) as slate_q`;
  let highWater: unknown = options.after ?? null;
  let lastKey: unknown;
  for (let offset = 0; ; offset += pageSize) {
    options.signal?.throwIfAborted();
    const pageParams = [...params];
    const conditions = [...where];
    if (keyColumn && lastKey !== undefined) {
      pageParams.push(lastKey);
      conditions.push(
        `slate_q.${q(keyColumn)} > ${source.dialect === 'postgres' ? `$${pageParams.length}` : '?'}`,
      );
    }
    const statement: SqlStatement = {
      text: `${base}${conditions.length > 0 ? ` where ${conditions.join(' and ')}` : ''}${
        order ? ` order by ${order}` : ''
      } limit ${pageSize}${keyColumn ? '' : ` offset ${offset}`}`,
      params: pageParams,
    };
    const result = await source.query(statement, options.signal);
    const byNormalized = new Map(spec.outputs.map((output) => [normalize(output.param), output.fqn]));
    const keyFqn = spec.inputs[0]?.fqn;
    if (sql.keyColumn && keyFqn) byNormalized.set(normalize(sql.keyColumn), keyFqn);
    const pairs = result.columns.flatMap((c) => {
      const fqn = byNormalized.get(normalize(c));
      return fqn === undefined ? [] : [[c, fqn] as const];
    });
    const boundKey = boundColumn === undefined ? undefined : findColumn(result.columns, boundColumn);
    const rows = result.rows.map((row) => {
      const values: Record<string, unknown> = {};
      for (const [c, fqn] of pairs) values[fqn] = row[c] ?? null;
      if (boundKey !== undefined) {
        const value = row[boundKey];
        if (value != null && (highWater == null || compare(value, highWater) > 0)) highWater = value;
      }
      return values;
    });
    if (keyColumn && result.rows.length > 0) {
      const keyName = findColumn(result.columns, keyColumn) ?? keyColumn;
      lastKey = result.rows[result.rows.length - 1]![keyName];
    }
    if (rows.length > 0) yield { rows, highWater };
    if (result.rows.length < pageSize) return;
  }
}

function compare(a: unknown, b: unknown): number {
  const value = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'string' ? v : Number(v));
  const x = value(a);
  const y = value(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
