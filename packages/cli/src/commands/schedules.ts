import type { Schedule, ScheduleFire, ScheduleRef, SlateClient } from '@slate/client';
import { SCHEDULE_KINDS, type ScheduleKind, SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

interface JsonFlag {
  readonly json?: boolean;
}

interface TargetFlags extends JsonFlag {
  readonly kind?: string;
}

interface FiresFlags extends TargetFlags {
  readonly limit: string;
}

/**
 * `slate schedules list [--json]`, `slate schedules pause|resume <name> [--kind resolver|query] [--json]` and
 * `slate schedules fires <name> [--kind resolver|query] [--limit 20] [--json]`: the environment's cron
 * resolvers and scheduled queries as the metadata plane fires them (ADR 0004). A name is a resolver FQN or a
 * scheduled query's name; `--kind` is needed only when a resolver and a query share it.
 */
export function registerSchedules(program: Command, context: CliContext): void {
  const schedules = program
    .command('schedules')
    .description('list, pause, resume and follow cron resolvers and scheduled queries');

  schedules
    .command('list')
    .description("the environment's schedules: state, next and last fire")
    .option('--json', 'print the schedules as JSON')
    .action(async (flags: JsonFlag, command: Command) => {
      const client = await clientForCommand(command, context);
      const items = await client.listSchedules();
      if (flags.json) return printJson(context, items);
      printLine(context, formatSchedules(items));
    });

  const control = (verb: 'pause' | 'resume') =>
    schedules
      .command(verb)
      .description(
        verb === 'pause'
          ? 'stop firing a schedule until it is resumed'
          : 'fire a paused schedule again from its next due time (the paused period is not replayed)',
      )
      .argument('<name>', 'the resolver FQN or scheduled query name')
      .option(
        '--kind <kind>',
        `which, when a resolver and a query share the name (${SCHEDULE_KINDS.join(', ')})`,
      )
      .option('--json', 'print the schedule as JSON')
      .action(async (name: string, flags: TargetFlags, command: Command) => {
        const kind = flags.kind === undefined ? undefined : parseKind(flags.kind);
        const client = await clientForCommand(command, context);
        const target = await resolveSchedule(client, name, kind);
        const schedule =
          verb === 'pause' ? await client.pauseSchedule(target) : await client.resumeSchedule(target);
        if (flags.json) return printJson(context, schedule);
        printLine(
          context,
          schedule.state === 'PAUSE'
            ? `▸ ${schedule.kind} ${schedule.name} paused: it fires nothing until resumed`
            : `▸ ${schedule.kind} ${schedule.name} playing: next fire ${schedule.next_fire_at ?? '(none)'}`,
        );
      });
  control('pause');
  control('resume');

  schedules
    .command('fires')
    .description(
      "a schedule's fires, newest first: delivery to the data plane and the run's or query's status",
    )
    .argument('<name>', 'the resolver FQN or scheduled query name')
    .option(
      '--kind <kind>',
      `which, when a resolver and a query share the name (${SCHEDULE_KINDS.join(', ')})`,
    )
    .option('--limit <n>', 'how many to show (at most 500)', '20')
    .option('--json', 'print the fires as JSON')
    .action(async (name: string, flags: FiresFlags, command: Command) => {
      const kind = flags.kind === undefined ? undefined : parseKind(flags.kind);
      const limit = parseLimit(flags.limit);
      const client = await clientForCommand(command, context);
      const target = await resolveSchedule(client, name, kind);
      const fires = await client.listScheduleFires(target, { limit });
      if (flags.json) return printJson(context, fires);
      printLine(context, formatFires(fires));
    });
}

/**
 * The schedule a name means: with `--kind`, that one (the metadata plane answers `SCHEDULE_NOT_FOUND` if
 * it is not there); without, the one listed schedule of that name.
 */
async function resolveSchedule(
  client: SlateClient,
  name: string,
  kind: ScheduleKind | undefined,
): Promise<ScheduleRef> {
  if (kind) return { kind, name };
  const matches = (await client.listSchedules()).filter((s) => s.name === name);
  if (matches.length === 1) return { kind: matches[0]!.kind as ScheduleKind, name };
  if (matches.length === 0)
    throw new SlateError(
      'not_found',
      'SCHEDULE_NOT_FOUND',
      `no schedule named '${name}' in the environment (see slate schedules list)`,
    );
  throw new SlateError(
    'input',
    'INVALID_INPUT',
    `both a resolver and a scheduled query are named '${name}': add --kind resolver or --kind query`,
  );
}

/** The schedules table, as listed (by kind, then name). */
export function formatSchedules(items: readonly Schedule[]): string {
  if (items.length === 0) return 'no schedules (deploy cron resolvers or scheduled queries)';
  return formatTable(
    ['kind', 'name', 'schedule', 'state', 'next fire', 'last fire'],
    items.map((s) => [
      s.kind,
      s.name,
      s.schedule,
      s.state,
      s.next_fire_at ?? '—',
      s.last_fired_at ?? 'never',
    ]),
  );
}

/** The fires table, newest due time first as given. */
export function formatFires(items: readonly ScheduleFire[]): string {
  if (items.length === 0) return 'no fires yet';
  return formatTable(
    ['due', 'delivery', 'status', 'operation', 'attempts', 'error'],
    items.map((f) => [
      f.due_at,
      f.delivery,
      f.status ?? '—',
      f.operation_id ?? '',
      String(f.attempts),
      f.error ?? '',
    ]),
  );
}

function parseKind(raw: string): ScheduleKind {
  if ((SCHEDULE_KINDS as readonly string[]).includes(raw)) return raw as ScheduleKind;
  throw new SlateError('input', 'INVALID_INPUT', `--kind ${raw}: one of ${SCHEDULE_KINDS.join(', ')}`);
}

function parseLimit(raw: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1 || value > 500)
    throw new SlateError('input', 'INVALID_INPUT', `--limit ${raw}: a whole number from 1 to 500`);
  return value;
}
