import {
  type Duration,
  hasTopLevelGroupBy,
  parseDuration,
  SlateError,
  type SourceLocation,
} from '@slate/graph';
import { type AnyFeatureClass, featureClassInternals } from './feature-class.ts';
import { callerLocation } from './source-location.ts';

const sqlResolverBrand = Symbol.for('slate.sql-resolver');

/** Options of `sqlResolver` (and what a `.sql` file's header comments say). */
export interface SqlResolverOptions {
  /** The resolver's name; by default the name it is exported under (a `.sql` file's base name). */
  readonly name?: string;
  /** The environment's named data source the query runs against. */
  readonly source: string;
  /** The feature class whose features the columns map to (case-insensitively, underscores stripped). */
  readonly resolves: AnyFeatureClass;
  /**
   * The query. `${user.id}`-style parameters become the resolver's inputs; `${now}` is the query's time.
   * Without feature parameters the primary key must be selected: queries then push the requested keys
   * down into the query's WHERE, one database round trip per batch of rows.
   */
  readonly query: string;
  /** `online` (default) runs in online and offline queries; `offline` only in offline queries and runs. */
  readonly kind?: 'online' | 'offline';
  /**
   * `one_or_none` (default): the first row per input, nulls when there is none; `one`: a missing row is an
   * error; `all`: every row the query returns (a data-frame resolver returning every entity).
   */
  readonly count?: 'one' | 'one_or_none' | 'all';
  /**
   * Scheduled and triggered runs read only what changed since the previous run's high-water mark (see
   * `SqlIncrementalOptions`).
   */
  readonly incremental?: SqlIncrementalOptions;
  /** Runs on a schedule: a UTC crontab (`"0 * * * *"`) or a duration (`"1h"`). */
  readonly cron?: string;
  readonly environment?: string | readonly string[];
  readonly tags?: readonly string[];
  readonly timeout?: Duration;
  readonly description?: string;
  readonly owner?: string;
}

/**
 * How a SQL resolver runs incrementally (chalk.md §2.2 `incremental:`). The high-water mark is the greatest
 * `column` value ingested so far (`timestamp: 'feature_time'`, the default; in `parameter` mode the greatest
 * feature time) or the time the last successful run started (`'resolver_execution_time'`).
 * - `row` (default): a run reads the rows whose output `column` is past the mark, less `lookback`.
 * - `group`: for a GROUP BY query. `column` is a column of the queried tables (`created_at`, `p.created_at`);
 *   a run re-aggregates every group that has a row past the mark, so the values it writes are whole-group
 *   aggregates: the query gets `and (<group by keys>) in (select <group by keys> from … where … and
 *   <column> > <mark>)` in its WHERE.
 * - `parameter`: the query is left alone and reads the mark itself as `${chalk_incremental_timestamp}` (or
 *   the last run's start as `${chalk_last_execution_timestamp}`); before the first run both are
 *   1970-01-01T00:00:00Z. `column` is ignored.
 *
 * @example
 * sqlResolver({ source: 'app', resolves: User, query: 'select user_id as id, sum(amount) as total from payments group by user_id', incremental: { mode: 'group', column: 'created_at', lookback: '1h' } });
 */
export interface SqlIncrementalOptions {
  readonly mode?: 'row' | 'group' | 'parameter';
  /** Required for `row` and `group`. */
  readonly column?: string;
  /** Re-read this much before the mark, for rows that arrive late (default none). */
  readonly lookback?: Duration;
  readonly timestamp?: 'feature_time' | 'resolver_execution_time';
}

/** A SQL resolver declared with `sqlResolver(...)` or read from a `.sql` file. */
export interface SqlResolver {
  readonly [sqlResolverBrand]: SqlResolverDeclaration;
}

/** A SQL resolver before its columns are matched to features: `resolves` names the namespace or class. */
export interface SqlResolverDeclaration extends Omit<SqlResolverOptions, 'resolves'> {
  /** The namespace (`user`) or class name (`User`) the resolver resolves. */
  readonly resolves: string;
  readonly file?: string;
  readonly location?: SourceLocation;
}

/**
 * Declares a SQL resolver: a query over one of the environment's named data sources whose columns become
 * features. No user code runs: the data plane executes the query (with push-down of the requested keys)
 * and maps columns to features.
 *
 * @throws SlateError `INVALID_RESOLVER` for a malformed duration or an unknown `count`.
 * @example
 * export const user_profile = sqlResolver({
 *   source: 'app_db',
 *   resolves: User,
 *   query: 'select id, full_name, email from users',
 * });
 */
export function sqlResolver(options: SqlResolverOptions): SqlResolver {
  const { resolves, ...rest } = options;
  return declareSqlResolver({
    ...rest,
    resolves: featureClassInternals(resolves).namespace,
    location: callerLocation(),
  });
}

/** Brands a declaration after checking what can be checked without the feature graph. */
export function declareSqlResolver(declaration: SqlResolverDeclaration): SqlResolver {
  const where = declaration.file ?? declaration.location?.file;
  const fail = (message: string) =>
    new SlateError('input', 'INVALID_RESOLVER', `${where ? `${where}: ` : ''}${message}`, {
      source: declaration.location,
    });
  for (const [what, value] of [
    ['timeout', declaration.timeout],
    ['incremental lookback', declaration.incremental?.lookback],
  ] as const) {
    if (value === undefined) continue;
    try {
      parseDuration(value);
    } catch {
      throw fail(`${what} '${value}' is not a duration (try "200ms", "1h")`);
    }
  }
  if (declaration.count !== undefined && !['one', 'one_or_none', 'all'].includes(declaration.count))
    throw fail(`count '${declaration.count}' must be one, one_or_none or all`);
  const incremental = declaration.incremental;
  if (incremental) {
    const mode = incremental.mode ?? 'row';
    if (!['row', 'group', 'parameter'].includes(mode))
      throw fail(`incremental mode '${mode}' must be row, group or parameter`);
    if (
      incremental.timestamp !== undefined &&
      !['feature_time', 'resolver_execution_time'].includes(incremental.timestamp)
    )
      throw fail(
        `incremental_timestamp '${incremental.timestamp}' must be feature_time or resolver_execution_time`,
      );
    if (mode !== 'parameter' && !incremental.column)
      throw fail(`incremental mode ${mode} needs a column (incremental_column)`);
    if (incremental.column !== undefined && !/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/.test(incremental.column))
      throw fail(`incremental column '${incremental.column}' must be a column name (or table.column)`);
    if (mode === 'group' && !hasTopLevelGroupBy(declaration.query))
      throw fail('incremental mode group needs a query with a GROUP BY');
  }
  if (!declaration.source) throw fail('a SQL resolver needs a source (the data source name)');
  if (!declaration.query.trim()) throw fail('the SQL query is empty');
  return Object.freeze({ [sqlResolverBrand]: Object.freeze({ ...declaration }) });
}

export function isSqlResolver(value: unknown): value is SqlResolver {
  return typeof value === 'object' && value !== null && sqlResolverBrand in value;
}

export function sqlResolverDeclaration(resolver: SqlResolver): SqlResolverDeclaration {
  return resolver[sqlResolverBrand];
}

/**
 * Reads a SQL file resolver (chalk.md §2.2): header comments `-- source: app_db`, `-- resolves: user`,
 * `-- type: online|offline`, `-- count: one|one_or_none|all`, `-- cron: "0 * * * *"`, `-- timeout: 2s`,
 * `-- incremental: {mode: row|group|parameter, incremental_column: updated_at, lookback_period: 1h,
 * incremental_timestamp: feature_time|resolver_execution_time}` (or indented lines under `-- incremental:`), `-- environment:`, `-- tags: [a, b]`, `-- owner:`; other comment lines become the
 * description. The resolver is named after the file (`users.chalk.sql` → `users`).
 *
 * @throws SlateError `INVALID_RESOLVER` for a missing `source`/`resolves`, an unknown header key, or
 * `type: streaming` (streaming resolvers are declared with `stream(...)`).
 * @example
 * parseSqlResolverFile('resolvers/users.chalk.sql', '-- source: app_db\n-- resolves: user\nselect id, name from users');
 */
export function parseSqlResolverFile(path: string, text: string): SqlResolver {
  const fail = (message: string) => new SlateError('input', 'INVALID_RESOLVER', `${path}: ${message}`);
  const headers = new Map<string, string>();
  const description: string[] = [];
  const lines = text.split(/\r?\n/);
  let body = 0;
  let openKey: string | undefined;
  for (; body < lines.length; body++) {
    const line = lines[body]!.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const comment = line.slice(2).trim();
    const nested = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(comment);
    const indented = /^--\s{2,}/.test(line);
    if (openKey && indented && nested) {
      headers.set(openKey, `${headers.get(openKey) ?? ''}${nested[1]}: ${nested[2]}, `);
      continue;
    }
    openKey = undefined;
    if (nested) {
      const key = nested[1]!.toLowerCase();
      headers.set(key, nested[2]!.trim());
      if (nested[2]!.trim() === '') openKey = key;
    } else if (comment) description.push(comment);
  }
  const query = lines.slice(body).join('\n').trim();
  const known = new Set([
    'source',
    'resolves',
    'type',
    'count',
    'cron',
    'timeout',
    'incremental',
    'environment',
    'tags',
    'owner',
    'name',
  ]);
  for (const key of headers.keys()) if (!known.has(key)) throw fail(`unknown header '${key}'`);
  const value = (key: string) => {
    const raw = headers.get(key);
    return raw === undefined ? undefined : unquote(raw);
  };
  const source = value('source');
  const resolves = value('resolves');
  if (!source) throw fail('the header needs "-- source: <data source name>"');
  if (!resolves) throw fail('the header needs "-- resolves: <feature class>"');
  const type = value('type') ?? 'online';
  if (type === 'streaming') throw fail('streaming SQL resolvers are not supported: declare stream(...)');
  if (type !== 'online' && type !== 'offline') throw fail(`type '${type}' must be online or offline`);
  const count = value('count');
  const incremental = headers.has('incremental') ? parseIncremental(headers.get('incremental')!) : undefined;
  const base =
    path
      .split(/[\\/]/)
      .pop()!
      .replace(/(\.chalk)?\.sql$/i, '') ?? path;
  return declareSqlResolver({
    name: value('name') ?? base.replace(/[^A-Za-z0-9_]/g, '_'),
    source,
    resolves,
    query,
    kind: type,
    count: count === '1' ? 'one' : (count as SqlResolverOptions['count']),
    incremental,
    cron: value('cron'),
    timeout: value('timeout') as Duration | undefined,
    environment: listValue(headers.get('environment')),
    tags: listValue(headers.get('tags')),
    owner: value('owner'),
    description: description.length > 0 ? description.join('\n') : undefined,
    file: path,
    location: { file: path, line: 1 },
  });
}

function unquote(raw: string): string {
  const trimmed = raw.trim();
  return /^(['"]).*\1$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}

function listValue(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((item) => unquote(item))
    .filter((item) => item !== '');
}

/** `{mode: row, incremental_column: updated_at, lookback_period: 1h}` (braces optional). */
function parseIncremental(raw: string): SqlResolverDeclaration['incremental'] {
  const fields = new Map(
    raw
      .trim()
      .replace(/^\{|\}$/g, '')
      .split(',')
      .map((pair) => pair.split(':').map((part) => unquote(part)))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== ''),
  );
  const column = fields.get('incremental_column');
  const lookback = fields.get('lookback_period');
  const mode = fields.get('mode');
  const timestamp = fields.get('incremental_timestamp');
  return {
    ...(mode ? { mode: mode as SqlIncrementalOptions['mode'] } : {}),
    ...(column ? { column } : {}),
    ...(lookback ? { lookback: lookback as Duration } : {}),
    ...(timestamp ? { timestamp: timestamp as SqlIncrementalOptions['timestamp'] } : {}),
  };
}
