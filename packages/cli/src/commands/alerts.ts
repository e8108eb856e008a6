import { ackIncident, type Incident, listIncidents } from '@slate/client';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';
import { sparkline } from '../sparkline.ts';

interface ListFlags {
  readonly json?: boolean;
  readonly all?: boolean;
  readonly limit: string;
}

/**
 * `slate alerts list [--all] [--limit 50] [--json]` (open incidents by default, with the series that fired
 * as a sparkline) and `slate alerts ack <incident> [--json]`.
 */
export function registerAlerts(program: Command, context: CliContext): void {
  const alerts = program.command('alerts').description('incidents opened by alert triggers and drift checks');
  alerts
    .command('list')
    .description('open incidents, newest first (--all: resolved ones too)')
    .option('--all', 'include resolved incidents')
    .option('--limit <n>', 'how many (at most 500)', '50')
    .option('--json', 'print the incidents as JSON')
    .action(async (flags: ListFlags, command: Command) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new SlateError(
          'input',
          'INVALID_INPUT',
          `--limit must be a whole number from 1 to 500, not ${flags.limit}`,
        );
      const client = await clientForCommand(command, context);
      const items = await listIncidents(client, { ...(flags.all ? {} : { status: 'open' }), limit });
      if (flags.json) return printJson(context, items);
      printLine(context, formatIncidents(items));
    });
  alerts
    .command('ack')
    .description('acknowledge an incident: it stays open until its trigger clears')
    .argument('<incident>', 'the incident id (see slate alerts list)')
    .option('--json', 'print the incident as JSON')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const incident = await ackIncident(client, id);
      if (flags.json) return printJson(context, incident);
      printLine(
        context,
        `▸ ${incident.id} acknowledged by ${incident.acked_by ?? 'you'} (${incident.status})`,
      );
    });
}

const number = (v: number | null) => (v === null ? '–' : Number(v.toPrecision(4)).toString());

/** The incidents table: id, state, severity, check (group), value vs threshold, since, the fired series. */
export function formatIncidents(items: readonly Incident[]): string {
  if (items.length === 0) return 'No incidents.';
  return formatTable(
    ['ID', 'STATE', 'SEVERITY', 'CHECK', 'OWNER', 'VALUE', 'THRESHOLD', 'OPENED', 'SERIES'],
    items.map((i) => [
      i.id,
      i.status === 'open' ? (i.acknowledged ? 'acked' : 'open') : 'resolved',
      i.severity,
      i.group ? `${i.check} (${i.group})` : i.check,
      i.owner,
      number(i.value),
      `${i.direction === 'below' ? '<' : '>'} ${number(i.threshold)}`,
      i.opened_at,
      sparkline(i.series.map((p) => p.value)),
    ]),
  );
}
