import { SlateError } from '@slate/graph';
import type { SqlDialect, SqlStatement } from './sql-source.ts';

/**
 * A SQL resolver's query with its `${name}` parameters (`${user.id}`, `${now}`) turned into the dialect's
 * placeholders. Parameters inside string literals, quoted identifiers and comments are left alone.
 */
export interface SqlTemplate {
  readonly dialect: SqlDialect;
  /** The query text with placeholders, numbered in order of appearance. */
  readonly text: string;
  /** The parameter each placeholder binds, in order (a name may appear several times). */
  readonly params: readonly string[];
}

/**
 * Compiles `${name}` parameters into placeholders.
 *
 * @throws SlateError `INVALID_SQL_TEMPLATE` for an unterminated `${` or an empty name.
 * @example
 * compileSqlTemplate('select * from users where id = ${user.id}', 'postgres');
 * // { text: 'select * from users where id = $1', params: ['user.id'] }
 */
export function compileSqlTemplate(sql: string, dialect: SqlDialect): SqlTemplate {
  const params: string[] = [];
  let text = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const skipped = /^('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (skipped) {
      text += skipped[0];
      i += skipped[0].length;
      continue;
    }
    if (rest.startsWith('${')) {
      const end = sql.indexOf('}', i + 2);
      const name = end < 0 ? '' : sql.slice(i + 2, end).trim();
      if (end < 0 || !/^[A-Za-z_][\w.]*$/.test(name)) {
        throw new SlateError(
          'input',
          'INVALID_SQL_TEMPLATE',
          `bad parameter at character ${i}: use \${feature.name} or \${now}`,
        );
      }
      params.push(name);
      text += placeholder(dialect, params.length);
      i = end + 1;
      continue;
    }
    text += sql[i];
    i++;
  }
  return { dialect, text, params };
}

/**
 * Binds parameter values to a compiled template.
 *
 * @throws SlateError `MISSING_SQL_PARAMETER` when a parameter has no value.
 */
export function bindSqlTemplate(
  template: SqlTemplate,
  values: Readonly<Record<string, unknown>>,
): SqlStatement {
  return {
    text: template.text,
    params: template.params.map((name) => {
      if (!(name in values))
        throw new SlateError('input', 'MISSING_SQL_PARAMETER', `no value for \${${name}}`);
      return values[name];
    }),
  };
}

/**
 * Pushes a filter into a query: only rows whose `column` is one of `values` (the inputs of a batch of
 * resolver rows), so the database does the filtering. The query becomes a subquery; its own parameters
 * keep their numbers and the new ones follow.
 *
 * @example
 * pushDownIn({ text: 'select id, name from users', params: [] }, 'postgres', 'id', [1, 2]);
 * // { text: 'select * from (select id, name from users) as slate_q where slate_q."id" = any($1)', params: [[1, 2]] }
 */
export function pushDownIn(
  statement: SqlStatement,
  dialect: SqlDialect,
  column: string,
  values: readonly unknown[],
): SqlStatement {
  const inner = statement.text.trim().replace(/;\s*$/, '');
  const target = `slate_q.${quoteIdentifier(dialect, column)}`;
  if (dialect === 'postgres') {
    return {
      text: `select * from (${inner}) as slate_q where ${target} = any(${placeholder(dialect, statement.params.length + 1)})`,
      params: [...statement.params, [...values]],
    };
  }
  if (values.length === 0)
    return { text: `select * from (${inner}) as slate_q where false`, params: [...statement.params] };
  return {
    text: `select * from (${inner}) as slate_q where ${target} in (${values.map(() => '?').join(', ')})`,
    params: [...statement.params, ...values],
  };
}

/** Quotes an identifier for the dialect. */
export function quoteIdentifier(dialect: SqlDialect, name: string): string {
  return dialect === 'postgres' ? `"${name.replaceAll('"', '""')}"` : `\`${name.replaceAll('`', '``')}\``;
}

function placeholder(dialect: SqlDialect, index: number): string {
  return dialect === 'postgres' ? `$${index}` : '?';
}
