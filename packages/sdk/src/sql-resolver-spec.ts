import { parseDuration, type ResolverSpec, SlateError, SQL_INCREMENTAL_PARAMETERS } from '@slate/graph';
import type { FeatureClassInternals } from './feature-class.ts';
import { isScalarField } from './fields.ts';
import type { SqlResolverDeclaration } from './sql-resolver.ts';

/** A column or feature name as the seed product compares them: lower-cased, underscores stripped. */
export function normalizeColumnName(name: string): string {
  return name.toLowerCase().replaceAll('_', '');
}

/**
 * The output column names of a query's top-level select list (aliases when given, else the last part of a
 * dotted column), or `null` when it selects `*`. Unquoted names are lower-cased as PostgreSQL does.
 */
export function selectedColumns(query: string): string[] | null {
  const text = query.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  const select = /\bselect\b(\s+distinct\b)?/i.exec(text);
  if (!select) return null;
  let depth = 0;
  let quote: string | null = null;
  let start = select.index + select[0].length;
  const items: string[] = [];
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && ch === ',') {
      items.push(text.slice(start, i));
      start = i + 1;
    } else if (
      depth === 0 &&
      text.slice(i, i + 4).toLowerCase() === 'from' &&
      /\W/.test(text[i - 1] ?? ' ') &&
      /\W/.test(text[i + 4] ?? ' ')
    ) {
      items.push(text.slice(start, i));
      start = -1;
      break;
    }
  }
  if (start !== -1) items.push(text.slice(start));
  const names: string[] = [];
  for (const raw of items) {
    const item = raw.trim();
    if (item === '*' || item.endsWith('.*')) return null;
    const alias = /(?:\bas\s+)?("[^"]+"|`[^`]+`|[A-Za-z_][\w$]*)\s*$/i.exec(item);
    if (!alias) continue;
    const name = alias[1]!;
    names.push(/^["`]/.test(name) ? name.slice(1, -1) : name.toLowerCase());
  }
  return names;
}

/** The `${name}` parameters of a query, in order of first appearance (string literals skipped). */
export function sqlParameters(query: string): string[] {
  const text = query.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  const names: string[] = [];
  for (const match of text.matchAll(/\$\{\s*([A-Za-z_][\w.]*)\s*\}/g))
    if (!names.includes(match[1]!)) names.push(match[1]!);
  return names;
}

/**
 * The resolver spec of a SQL resolver: its columns matched to the features of the namespace it resolves.
 * Feature parameters are its inputs; without them the primary key column is its input (pushed down into
 * WHERE) unless `count: all` makes it a data-frame resolver returning every entity. Columns that match no
 * feature are ignored (an incremental column, say).
 *
 * @throws SlateError `INVALID_RESOLVER` when the namespace is unknown, the query selects `*`, no column
 * matches a feature, or the primary key is needed and not selected.
 */
export function sqlResolverSpec(
  exportName: string,
  declaration: SqlResolverDeclaration,
  classes: ReadonlyMap<string, FeatureClassInternals>,
): ResolverSpec {
  const where = declaration.file ?? declaration.location?.file;
  const fqn = declaration.name ?? exportName;
  const fail = (message: string) =>
    new SlateError(
      'input',
      'INVALID_RESOLVER',
      `${where ? `${where}: ` : ''}SQL resolver ${fqn}: ${message}`,
      {
        source: declaration.location,
      },
    );
  const internals = [...classes.values()].find(
    (candidate) => normalizeColumnName(candidate.namespace) === normalizeColumnName(declaration.resolves),
  );
  if (!internals)
    throw fail(`resolves '${declaration.resolves}', which is not a feature class of this graph`);
  const { namespace } = internals;
  const byNormalized = new Map<string, string>();
  for (const [name, field] of Object.entries(internals.fields))
    if (isScalarField(field)) byNormalized.set(normalizeColumnName(name), name);

  const columns = selectedColumns(declaration.query);
  if (columns === null) throw fail('select the columns by name (not *) so they can be matched to features');
  const rowColumn =
    declaration.incremental && (declaration.incremental.mode ?? 'row') === 'row'
      ? declaration.incremental.column
      : undefined;
  // Row mode filters and orders the query's output on its incremental column: it must be selected.
  if (rowColumn !== undefined && !columns.some((c) => c.toLowerCase() === rowColumn.toLowerCase()))
    throw fail(
      `incremental column '${rowColumn}' is not selected: select it (row mode filters the query's output on it)`,
    );
  const mapped = columns.flatMap((column) => {
    const feature = byNormalized.get(normalizeColumnName(column));
    return feature ? [{ column, feature }] : [];
  });
  if (mapped.length === 0) throw fail(`no selected column matches a feature of ${namespace}`);

  const inputs: ResolverSpec['inputs'] = [];
  const incrementalMode = declaration.incremental ? (declaration.incremental.mode ?? 'row') : undefined;
  const parameters = sqlParameters(declaration.query);
  const incrementalParameters = parameters.filter((param) =>
    (SQL_INCREMENTAL_PARAMETERS as readonly string[]).includes(param),
  );
  if (incrementalMode === 'parameter' && incrementalParameters.length === 0)
    throw fail(
      `incremental mode parameter: the query must read \${chalk_incremental_timestamp} or \${chalk_last_execution_timestamp}`,
    );
  if (incrementalMode !== 'parameter' && incrementalParameters.length > 0)
    throw fail(`\${${incrementalParameters[0]}} is only set for incremental mode parameter`);
  for (const param of parameters) {
    if (param === 'now' || incrementalParameters.includes(param)) continue;
    const dot = param.indexOf('.');
    const feature = dot < 0 ? undefined : byNormalized.get(normalizeColumnName(param.slice(dot + 1)));
    if (dot < 0 || normalizeColumnName(param.slice(0, dot)) !== normalizeColumnName(namespace) || !feature)
      throw fail(`parameter \${${param}} is neither \${now} nor a feature of ${namespace}`);
    inputs.push({ type: 'feature', param, fqn: `${namespace}.${feature}` });
  }
  const count = declaration.count ?? 'one_or_none';
  if (count === 'all' && inputs.length > 0)
    throw fail('count: all takes no feature parameters (it returns every entity)');
  const primaryKey = internals.primaryKey;
  const keyColumn = mapped.find((m) => m.feature === primaryKey)?.column;
  if (inputs.length === 0 && !keyColumn)
    throw fail(`select the primary key ${namespace}.${primaryKey}: requested keys are pushed down to it`);
  if (inputs.length === 0 && count !== 'all')
    inputs.push({ type: 'feature', param: primaryKey, fqn: `${namespace}.${primaryKey}` });
  const inputFqns = new Set(inputs.map((input) => input.fqn));
  const outputs = mapped
    .filter((m) => count === 'all' || !inputFqns.has(`${namespace}.${m.feature}`))
    .map((m) => ({ param: m.feature, fqn: `${namespace}.${m.feature}` }));
  if (outputs.length === 0) throw fail('the query selects no feature besides its inputs');
  const environment = declaration.environment;
  const timeout = declaration.timeout === undefined ? null : parseDuration(declaration.timeout);
  return {
    fqn,
    kind: declaration.kind ?? 'online',
    namespace,
    inputs,
    outputs,
    environments:
      environment === undefined ? [] : typeof environment === 'string' ? [environment] : [...environment],
    tags: [...(declaration.tags ?? [])],
    timeoutMs: timeout === null ? undefined : Math.max(1, Math.round(timeout * 1000)),
    total: count === 'all',
    ...(count === 'all' ? { dataframe: 'rows' } : {}),
    cron: declaration.cron,
    sql: {
      dataSource: declaration.source,
      query: declaration.query,
      count,
      ...(keyColumn && inputs.length === 1 && inputs[0]!.param === primaryKey ? { keyColumn } : {}),
      ...(declaration.incremental && incrementalMode
        ? {
            incremental: {
              mode: incrementalMode,
              ...(incrementalMode !== 'parameter' && declaration.incremental.column
                ? { column: declaration.incremental.column }
                : {}),
              lookbackS:
                declaration.incremental.lookback === undefined
                  ? 0
                  : (parseDuration(declaration.incremental.lookback) ?? 0),
              timestamp: declaration.incremental.timestamp ?? 'feature_time',
            },
          }
        : {}),
      ...(declaration.file ? { file: declaration.file } : {}),
    },
    description: declaration.description,
    owner: declaration.owner,
    source: declaration.location,
  };
}
