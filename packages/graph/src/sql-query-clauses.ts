import { SlateError } from './errors.ts';

/** The query parameters a `parameter`-mode incremental SQL resolver reads (chalk's names). */
export const SQL_INCREMENTAL_PARAMETERS = [
  'chalk_incremental_timestamp',
  'chalk_last_execution_timestamp',
] as const;

/** A top-level clause keyword of a SELECT and where it starts in the query text. */
interface Keyword {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

const CLAUSE_WORDS = new Set([
  'select',
  'from',
  'where',
  'group',
  'having',
  'window',
  'qualify',
  'order',
  'limit',
  'offset',
  'fetch',
  'for',
  'union',
  'intersect',
  'except',
]);

/**
 * The clause keywords at parenthesis depth 0 (outside string literals, quoted identifiers and comments),
 * so that a subquery's or a CTE's own FROM and GROUP BY are not mistaken for the query's.
 */
function topLevelKeywords(query: string): Keyword[] {
  const keywords: Keyword[] = [];
  let depth = 0;
  let i = 0;
  while (i < query.length) {
    const rest = query.slice(i);
    const skipped = /^('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|\/\*[\s\S]*?\*\/|\$\{[^}]*\})/.exec(
      rest,
    );
    if (skipped) {
      i += skipped[0].length;
      continue;
    }
    const ch = query[i]!;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    const word = /^[A-Za-z_][\w$]*/.exec(rest);
    if (word) {
      const lower = word[0].toLowerCase();
      if (depth === 0 && CLAUSE_WORDS.has(lower)) {
        // `group by` and `order by` are clauses; a bare `group`/`order` (a column) is not.
        const by = /^\s+by\b/i.exec(query.slice(i + word[0].length));
        if ((lower !== 'group' && lower !== 'order') || by)
          keywords.push({ word: lower, start: i, end: i + word[0].length + (by ? by[0].length : 0) });
      }
      i += word[0].length;
      continue;
    }
    i++;
  }
  return keywords;
}

/** Whether a query has a GROUP BY of its own (not only inside a subquery). */
export function hasTopLevelGroupBy(query: string): boolean {
  return topLevelKeywords(query).some((keyword) => keyword.word === 'group');
}

/** The parts of a `select … from … [where …] group by … […]` query that an incremental group run needs. */
export interface GroupByQueryParts {
  /** The text up to and including the FROM clause (`select user_id, sum(amount) … from payments p`). */
  readonly head: string;
  /** The FROM clause's body (`payments p`, joins included). */
  readonly from: string;
  /** The WHERE condition, if any. */
  readonly where: string | undefined;
  /** The GROUP BY keys as written (`user_id`, `p.user_id, p.day`). */
  readonly groupKeys: string;
  /** Everything after the GROUP BY keys (`having …`, `order by …`), trailing semicolon removed. */
  readonly tail: string;
}

/**
 * Splits a GROUP BY query into the parts an incremental `group` run rewrites (chalk.md §2.2 `mode: group`).
 *
 * @throws SlateError `INVALID_RUN` (input) for a query without a top-level FROM and GROUP BY, a UNION /
 * INTERSECT / EXCEPT at the top level, or GROUP BY keys that are ordinals (`group by 1`), which would not
 * mean the same inside the rewritten subquery.
 * @example
 * splitGroupByQuery('select user_id as id, sum(amount) as total from payments group by user_id');
 * // { head: 'select user_id as id, sum(amount) as total from payments', from: 'payments', where: undefined, groupKeys: 'user_id', tail: '' }
 */
export function splitGroupByQuery(query: string): GroupByQueryParts {
  const text = query.trim().replace(/;\s*$/, '');
  const fail = (message: string) =>
    new SlateError('input', 'INVALID_RUN', `incremental group mode: ${message}`);
  const keywords = topLevelKeywords(text);
  if (keywords.some((k) => ['union', 'intersect', 'except'].includes(k.word)))
    throw fail('a query with UNION, INTERSECT or EXCEPT at the top level cannot be rewritten');
  const select = keywords.findIndex((k) => k.word === 'select');
  const from = keywords.findIndex((k, i) => i > select && k.word === 'from');
  const group = keywords.findIndex((k, i) => i > from && k.word === 'group');
  if (select < 0 || from < 0 || group < 0) throw fail('the query needs a top-level FROM and GROUP BY');
  const where = keywords.findIndex((k, i) => i > from && i < group && k.word === 'where');
  const fromEnd = keywords[where >= 0 ? where : group]!.start;
  const next = keywords[group + 1];
  const groupKeys = text.slice(keywords[group]!.end, next ? next.start : text.length).trim();
  if (groupKeys.split(',').some((key) => /^\d+$/.test(key.trim())))
    throw fail(`GROUP BY ${groupKeys}: name the grouped columns (not their positions)`);
  return {
    head: text.slice(0, fromEnd).trimEnd(),
    from: text.slice(keywords[from]!.end, fromEnd).trim(),
    where: where >= 0 ? text.slice(keywords[where]!.end, keywords[group]!.start).trim() : undefined,
    groupKeys,
    tail: next ? text.slice(next.start).trim() : '',
  };
}

/**
 * Rewrites a GROUP BY query so that it re-aggregates only the groups with at least one underlying row
 * matching `changed` (a condition over the queried tables, such as `created_at > ${mark}`): every row of
 * those groups still counts, so aggregates stay whole.
 *
 * @throws SlateError `INVALID_RUN` as `splitGroupByQuery`.
 * @example
 * changedGroupsQuery('select user_id as id, sum(amount) as total from payments group by user_id', 'created_at > ${after}');
 * // 'select user_id as id, sum(amount) as total from payments where (user_id) in (select user_id from payments where created_at > ${after}) group by user_id'
 */
export function changedGroupsQuery(query: string, changed: string): string {
  const parts = splitGroupByQuery(query);
  const own = parts.where === undefined ? '' : `(${parts.where}) and `;
  const changedGroups = `select ${parts.groupKeys} from ${parts.from} where ${own}${changed}`;
  return `${parts.head} where ${own}(${parts.groupKeys}) in (${changedGroups}) group by ${parts.groupKeys}${
    parts.tail ? ` ${parts.tail}` : ''
  }`;
}

/**
 * The greatest value of `column` over the rows a GROUP BY query aggregates (its FROM and WHERE), within
 * `bounds` (conditions over the queried tables): the high-water mark a `group` run reaches.
 *
 * @throws SlateError `INVALID_RUN` as `splitGroupByQuery`.
 * @example
 * groupHighWaterQuery('select user_id as id, count(*) as n from payments group by user_id', 'created_at', []);
 * // 'select max(created_at) as slate_high_water from payments'
 */
export function groupHighWaterQuery(query: string, column: string, bounds: readonly string[]): string {
  const parts = splitGroupByQuery(query);
  const conditions = [...(parts.where === undefined ? [] : [`(${parts.where})`]), ...bounds];
  return `select max(${column}) as slate_high_water from ${parts.from}${
    conditions.length > 0 ? ` where ${conditions.join(' and ')}` : ''
  }`;
}
