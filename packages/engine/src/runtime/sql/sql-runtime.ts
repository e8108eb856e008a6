import { type ResolverSpec, SlateError, SQL_INCREMENTAL_PARAMETERS } from '@slate/graph';
import {
  bindSqlTemplate,
  compileSqlTemplate,
  pushDownIn,
  type SqlRows,
  type SqlSource,
  type SqlTemplate,
} from '@slate/stores';
import { withTimeout } from '../call-resolver.ts';
import {
  describeException,
  type ResolverCall,
  type ResolverOutcome,
  type ResolverRuntime,
} from '../resolver-runtime.ts';

const incrementalDefaults = Object.fromEntries(SQL_INCREMENTAL_PARAMETERS.map((name) => [name, new Date(0)]));

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
  // Outside runs a `parameter`-mode incremental query reads from the beginning (no mark applies).
  const base = (row: Readonly<Record<string, unknown>>) =>
    bindSqlTemplate(template, { ...incrementalDefaults, ...row, now: request.context.now });

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

export { type SqlScanOptions, type SqlScanPage, scanSqlResolver } from './sql-scan.ts';
