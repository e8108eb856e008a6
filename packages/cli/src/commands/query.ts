import type { JsonValue, OnlineQueryRequest, OnlineQueryResult } from '@slate/client';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

/**
 * One `--in` value as typed on the command line: integers and decimals become numbers, `true`/`false`
 * booleans, text starting with `[` or `{` is parsed as JSON, anything else stays a string. Integers beyond
 * 2^53 stay strings so no digit is lost.
 *
 * @throws SlateError `input`/`INVALID_INPUT` when JSON-looking text does not parse.
 * @example
 * parseInputValue('1') // 1
 * parseInputValue('[1,2]') // [1, 2]
 * parseInputValue('ada@example.com') // 'ada@example.com'
 */
export function parseInputValue(raw: string): JsonValue {
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
    const number = Number(raw);
    return Number.isInteger(number) && !Number.isSafeInteger(number) ? raw : number;
  }
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw.startsWith('[') || raw.startsWith('{')) {
    try {
      return JSON.parse(raw) as JsonValue;
    } catch (error) {
      throw new SlateError(
        'input',
        'INVALID_INPUT',
        `'${raw}' is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  return raw;
}

/**
 * `--in` / `--staleness` pairs (`user.id=1`) into a record; values are transformed by `parse`.
 * @throws SlateError `input`/`INVALID_INPUT` on a pair without `=`, an empty name or a repeated name.
 */
export function parsePairs<T>(
  pairs: readonly string[],
  parse: (raw: string) => T,
  flag = '--in',
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at).trim();
    if (at < 0 || name === '') {
      throw new SlateError('input', 'INVALID_INPUT', `${flag} ${pair}: expected <feature>=<value>`);
    }
    if (Object.hasOwn(out, name)) {
      throw new SlateError('input', 'INVALID_INPUT', `${flag} ${name} is given twice`);
    }
    out[name] = parse(pair.slice(at + 1));
  }
  return out;
}

interface QueryFlags {
  readonly in: string[];
  readonly out: string[];
  readonly tag: string[];
  readonly staleness: string[];
  readonly includeMeta?: boolean;
  readonly explain?: boolean;
  readonly json?: boolean;
  readonly now?: string;
  readonly queryName?: string;
  readonly queryNameVersion?: string;
  readonly correlationId?: string;
  readonly timeout?: string;
}

/** Builds the request body from parsed flags; pure, so it can be tested without a server. */
export function queryRequestFromFlags(flags: QueryFlags): OnlineQueryRequest {
  if (flags.out.length === 0 && !flags.queryName) {
    throw new SlateError('input', 'INVALID_INPUT', 'name at least one --out feature (or a --query-name)');
  }
  const staleness = parsePairs(flags.staleness, (raw) => raw, '--staleness');
  return {
    inputs: parsePairs(flags.in, parseInputValue),
    outputs: flags.out,
    ...(Object.keys(staleness).length > 0 ? { staleness } : {}),
    ...(flags.tag.length > 0 ? { context: { tags: flags.tag } } : {}),
    ...(flags.includeMeta ? { include_meta: true } : {}),
    ...(flags.explain ? { explain: true } : {}),
    ...(flags.now ? { now: flags.now } : {}),
    ...(flags.queryName ? { query_name: flags.queryName } : {}),
    ...(flags.queryNameVersion ? { query_name_version: flags.queryNameVersion } : {}),
    ...(flags.correlationId ? { correlation_id: flags.correlationId } : {}),
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `slate query --in user.id=1 --out user.name [...]`: one online query. Prints a table of feature, value
 * and error (with `--include-meta` also the resolver and cache hit), or the raw response with `--json`.
 * Exits 1 when the response carries errors, so scripts notice failed features.
 */
export function registerQuery(program: Command, context: CliContext): void {
  program
    .command('query')
    .description('run an online query')
    .option('--in <feature=value>', 'an input, e.g. user.id=1 (repeatable)', collect, [])
    .option('--out <feature>', 'an output feature, e.g. user.name (repeatable)', collect, [])
    .option('--tag <tag>', 'a query tag for resolver selection (repeatable)', collect, [])
    .option(
      '--staleness <feature=duration>',
      'maximum staleness, e.g. user.score=10m (repeatable)',
      collect,
      [],
    )
    .option('--include-meta', 'return resolver and cache metadata')
    .option('--explain', 'return the query plan')
    .option('--now <iso-time>', 'run the query as of this time')
    .option('--query-name <name>', 'a named query')
    .option('--query-name-version <version>', 'the named query version')
    .option('--correlation-id <id>', 'an id to find the query by in logs')
    .option('--timeout <ms>', 'ask the server to stop after this many milliseconds')
    .option('--json', 'print the raw response')
    .action(async (flags: QueryFlags, command: Command) => {
      const request = queryRequestFromFlags(flags);
      const client = await clientForCommand(command, context);
      const result = await client.queryOnline(
        request,
        flags.timeout === undefined ? {} : { timeoutMs: Number(flags.timeout) },
      );
      if (flags.json) printJson(context, result);
      else printLine(context, formatQueryResult(result, Boolean(flags.includeMeta)));
      const errors = result.errors;
      if (errors.length > 0) {
        throw new SlateError('internal', 'QUERY_ERRORS', `the query answered ${errors.length} error(s)`, {
          codes: errors.map((error) => error.code),
        });
      }
    });
}

/** The human form of a query result: one row per output, then request-level errors and query meta. */
export function formatQueryResult(result: OnlineQueryResult, includeMeta: boolean): string {
  const errors = result.errors;
  const rowErrors = (field: string) =>
    result
      .errorsFor(field)
      .map((e) => `${e.code}: ${e.message}`)
      .join('; ');
  const fields = [
    ...new Set([...result.data.map((row) => row.field), ...errors.flatMap((e) => e.feature ?? [])]),
  ];
  const header = includeMeta
    ? ['feature', 'value', 'error', 'resolver', 'cache']
    : ['feature', 'value', 'error'];
  const rows = fields.map((field) => {
    const row = result.data.find((r) => r.field === field);
    const cells = [field, row ? formatValue(row.value) : '', rowErrors(field)];
    if (includeMeta) cells.push(row?.meta?.chosen_resolver_fqn ?? '', row?.meta?.cache_hit ? 'hit' : '');
    return cells;
  });
  const lines = [formatTable(header, rows)];
  for (const error of errors.filter((e) => !e.feature)) lines.push(`error[${error.code}]: ${error.message}`);
  const meta = result.meta;
  if (meta) {
    const facts = [
      meta.query_id && `query ${meta.query_id}`,
      meta.deployment_id && `deployment ${meta.deployment_id}`,
      meta.environment_name && `environment ${meta.environment_name}`,
      typeof meta.execution_duration_s === 'number' && `${(meta.execution_duration_s * 1000).toFixed(1)} ms`,
    ].filter(Boolean);
    if (facts.length > 0) lines.push(facts.join(' · '));
    if (typeof meta.explain_output === 'string') lines.push(meta.explain_output);
  }
  return lines.join('\n');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}
