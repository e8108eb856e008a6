import type { Run } from '@slate/client';
import { RUN_STATUSES, type RunStatus, SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

interface ListFlags {
  readonly resolver?: string;
  readonly status?: string;
  readonly limit: string;
  readonly cursor?: string;
  readonly json?: boolean;
}

interface TriggerFlags {
  readonly lowerBound?: string;
  readonly upperBound?: string;
  readonly maxSamples?: string;
  readonly idempotencyKey?: string;
  readonly storeOnline: boolean;
  readonly storeOffline: boolean;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly json?: boolean;
}

interface JsonFlag {
  readonly json?: boolean;
}

/**
 * `slate runs list [--resolver fqn] [--status s] [--limit 20] [--cursor c] [--json]`,
 * `slate runs trigger <resolver> [--lower-bound t] [--upper-bound t] [--max-samples n] [--idempotency-key k]
 * [--no-store-online] [--no-store-offline] [--wait [--timeout 600]] [--json]`, `slate runs get <id>`,
 * `slate runs cancel <id>` and `slate runs incremental <resolver> [--set mark | --drop]`: resolver runs on
 * the environment's data plane (chalk.md §3.9). `trigger --wait` prints the run's progress and exits
 * non-zero unless it succeeded.
 */
export function registerRuns(program: Command, context: CliContext): void {
  const runs = program.command('runs').description('trigger, follow and cancel resolver runs');

  runs
    .command('list')
    .description("the environment's runs, newest first")
    .option('--resolver <fqn>', 'only runs of this resolver')
    .option('--status <status>', `only runs in this status (${RUN_STATUSES.join(', ')})`)
    .option('--limit <n>', 'how many to show', '20')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print the page as JSON')
    .action(async (flags: ListFlags, command: Command) => {
      const status = flags.status === undefined ? undefined : parseStatus(flags.status);
      const limit = parsePositiveInt(flags.limit, '--limit');
      const client = await clientForCommand(command, context);
      const page = await client.listRuns({
        limit,
        ...(flags.resolver ? { resolverFqn: flags.resolver } : {}),
        ...(status ? { status } : {}),
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      });
      if (flags.json) return printJson(context, page);
      printLine(context, formatRuns(page.runs));
      if (page.next_cursor) {
        const filters = `${flags.resolver ? ` --resolver ${flags.resolver}` : ''}${status ? ` --status ${status}` : ''}`;
        printLine(context, `more: slate runs list${filters} --cursor ${page.next_cursor}`);
      }
    });

  runs
    .command('trigger')
    .description('start a run of a resolver (SQL resolvers and input-less data-frame resolvers)')
    .argument('<resolver>', 'the resolver FQN')
    .option('--lower-bound <time>', 'only rows at or after this ISO-8601 time')
    .option('--upper-bound <time>', 'only rows before this ISO-8601 time')
    .option('--max-samples <n>', 'read at most this many rows')
    .option('--idempotency-key <key>', 'a second trigger with this key answers the first run')
    .option('--no-store-online', 'do not write the values to the online store')
    .option('--no-store-offline', 'do not write the values to the offline store')
    .option('--wait', 'follow the run until it ends; exit non-zero unless it succeeded')
    .option('--timeout <seconds>', 'how long --wait waits', '600')
    .option('--json', 'print the run as JSON')
    .action(async (resolver: string, flags: TriggerFlags, command: Command) => {
      const lowerBound =
        flags.lowerBound === undefined ? undefined : parseTime(flags.lowerBound, '--lower-bound');
      const upperBound =
        flags.upperBound === undefined ? undefined : parseTime(flags.upperBound, '--upper-bound');
      const maxSamples =
        flags.maxSamples === undefined ? undefined : parsePositiveInt(flags.maxSamples, '--max-samples');
      const timeoutS = parsePositiveInt(flags.timeout, '--timeout');
      const client = await clientForCommand(command, context);
      const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
      const run = await client.triggerRun({
        resolverFqn: resolver,
        ...(lowerBound ? { lowerBound } : {}),
        ...(upperBound ? { upperBound } : {}),
        ...(maxSamples === undefined ? {} : { maxSamples }),
        ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
        storeOnline: flags.storeOnline,
        storeOffline: flags.storeOffline,
      });
      line(`▸ run ${run.id} of ${run.resolver_fqn}: ${run.status}`);
      if (!flags.wait) {
        if (flags.json) printJson(context, run);
        return;
      }
      const final = await client.waitForRun(run.id, {
        timeoutMs: timeoutS * 1000,
        onProgress: (seen) => {
          if (seen.status === 'running') line(`▸ running… ${seen.rows} rows, ${seen.values} values`);
        },
      });
      line(`▸ ${describeRun(final)}`);
      if (flags.json) printJson(context, final);
      if (final.status !== 'succeeded')
        throw new SlateError(
          final.status === 'canceled' ? 'conflict' : 'internal',
          `RUN_${final.status.toUpperCase()}`,
          `run ${final.id} ended ${final.status}${final.error ? `: ${final.error}` : ''}`,
        );
    });

  runs
    .command('get')
    .description('one run: status, progress, bounds, high-water mark')
    .argument('<id>', 'the run id')
    .option('--json', 'print the run as JSON')
    .action(async (id: string, flags: JsonFlag, command: Command) => {
      const client = await clientForCommand(command, context);
      const run = await client.getRun(id);
      if (flags.json) return printJson(context, run);
      printLine(context, formatRunDetail(run));
    });

  registerIncremental(runs, context);

  runs
    .command('cancel')
    .description('stop a run between batches (what it already wrote stays)')
    .argument('<id>', 'the run id')
    .option('--json', 'print the run as JSON')
    .action(async (id: string, flags: JsonFlag, command: Command) => {
      const client = await clientForCommand(command, context);
      const run = await client.cancelRun(id);
      if (flags.json) return printJson(context, run);
      printLine(
        context,
        run.status === 'canceled'
          ? `▸ ${describeRun(run)}`
          : `▸ asked run ${run.id} to stop (${run.status}: the data plane running it stops at its next heartbeat)`,
      );
    });
}

/** `slate runs incremental <resolver>`'s flags. */
interface IncrementalFlags {
  readonly set?: string;
  readonly drop?: boolean;
  readonly json?: boolean;
}

/** `slate runs incremental <resolver> [--set <time|number> | --drop]` (chalk's `chalk incremental`). */
function registerIncremental(runs: Command, context: CliContext): void {
  runs
    .command('incremental')
    .description("an incremental resolver's high-water mark: show it, move it (--set) or forget it (--drop)")
    .argument('<resolver>', 'the resolver FQN')
    .option('--set <mark>', 'the next run reads past this ISO-8601 time (or number)')
    .option('--drop', 'forget the state: the next run reads everything')
    .option('--json', 'print the state as JSON')
    .action(async (resolver: string, flags: IncrementalFlags, command: Command) => {
      if (flags.set !== undefined && flags.drop)
        throw new SlateError('input', 'INVALID_INPUT', '--set and --drop cannot be combined');
      const mark =
        flags.set === undefined
          ? undefined
          : /^-?\d+(\.\d+)?$/.test(flags.set)
            ? Number(flags.set)
            : parseTime(flags.set, '--set');
      const client = await clientForCommand(command, context);
      const state = await client.incrementalState(
        resolver,
        flags.drop ? { drop: true } : mark === undefined ? {} : { set: { high_water: mark } },
      );
      if (flags.json) return printJson(context, state);
      printLine(context, `high-water mark  ${state.high_water ?? '(none: the next run reads everything)'}`);
      printLine(context, `last execution   ${state.last_execution_at ?? '(never)'}`);
    });
}

/** The runs table, newest first as given. */
export function formatRuns(items: readonly Run[]): string {
  if (items.length === 0) return 'no runs';
  return formatTable(
    ['id', 'resolver', 'status', 'trigger', 'created', 'rows', 'values', 'error'],
    items.map((r) => [
      r.id,
      r.resolver_fqn,
      r.status,
      r.trigger ?? '',
      r.created_at,
      String(r.rows),
      String(r.values),
      r.error ?? '',
    ]),
  );
}

/** One run as `key  value` lines. */
export function formatRunDetail(run: Run): string {
  const rows: [string, string][] = [
    ['id', run.id],
    ['resolver', run.resolver_fqn],
    ['status', run.status],
    ['trigger', run.trigger ?? ''],
    ['created', run.created_at],
    ['started', run.started_at ?? ''],
    ['finished', run.finished_at ?? ''],
    ['rows', String(run.rows)],
    ['values', String(run.values)],
  ];
  if (run.lower_bound || run.upper_bound)
    rows.push(['bounds', `[${run.lower_bound ?? '…'}, ${run.upper_bound ?? '…'})`]);
  if (run.max_samples != null) rows.push(['max samples', String(run.max_samples)]);
  if (run.idempotency_key) rows.push(['idempotency key', run.idempotency_key]);
  if (run.high_water_from || run.high_water_to)
    rows.push(['high-water mark', `${run.high_water_from ?? '(none)'} → ${run.high_water_to ?? '(none)'}`]);
  if (run.cancel_requested_at) rows.push(['cancel requested', run.cancel_requested_at]);
  if (run.error) rows.push(['error', run.error]);
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

function describeRun(run: Run): string {
  const counts = `${run.rows} rows, ${run.values} values`;
  if (run.status === 'succeeded') return `succeeded: ${counts}`;
  if (run.status === 'canceled') return `canceled after ${counts}`;
  return `${run.status}: ${counts}${run.error ? ` — ${run.error}` : ''}`;
}

function parseStatus(raw: string): RunStatus {
  if ((RUN_STATUSES as readonly string[]).includes(raw)) return raw as RunStatus;
  throw new SlateError('input', 'INVALID_INPUT', `--status ${raw}: one of ${RUN_STATUSES.join(', ')}`);
}

function parsePositiveInt(raw: string, flag: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new SlateError('input', 'INVALID_INPUT', `${flag} ${raw}: a positive whole number`);
  return value;
}

/** ISO-8601 with a zone, as the data plane accepts it; a bare date is taken as midnight UTC. */
function parseTime(raw: string, flag: string): string {
  const text = /^\d{4}-\d\d-\d\d$/.test(raw) ? `${raw}T00:00:00Z` : raw;
  if (!/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/.test(text) || Number.isNaN(Date.parse(text)))
    throw new SlateError(
      'input',
      'INVALID_INPUT',
      `${flag} ${raw}: an ISO-8601 time with a zone (2026-01-31T00:00:00Z) or a date`,
    );
  return new Date(text).toISOString();
}
