import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

interface DropFlags {
  readonly features: string[];
  readonly namespace?: string;
  readonly retainOffline?: boolean;
  readonly retainOnline?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
}

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
];

/**
 * `slate drop (--features user.a[,user.b] | --namespace user) [--retain-offline] [--retain-online] [--yes]
 * [--json]`: deletes every stored value of some features (all entities), online and offline, as the seed
 * product's `chalk drop`. Asks for confirmation on a terminal, naming the environment and server; without
 * a terminal, `--yes` is required (`CONFIRMATION_REQUIRED`, exit 2), so a script never drops by accident.
 */
export function registerDrop(program: Command, context: CliContext): void {
  program
    .command('drop')
    .description('delete every stored value of some features (online and offline), for all entities')
    .option('--features <fqns>', 'features, comma-separated or repeated', collect, [])
    .option(
      '--namespace <name>',
      'every feature of this namespace (or the namespace of bare --features names)',
    )
    .option('--retain-offline', 'keep the offline store’s values')
    .option('--retain-online', 'keep the online store’s values')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the answer as JSON')
    .action(async (flags: DropFlags, command: Command) => {
      if (flags.features.length === 0 && !flags.namespace)
        throw new SlateError(
          'input',
          'INVALID_DROP',
          'name the features (--features user.risk_score) or their namespace (--namespace user)',
        );
      if (flags.retainOffline && flags.retainOnline)
        throw new SlateError(
          'input',
          'INVALID_DROP',
          '--retain-offline and --retain-online leave nothing to drop',
        );
      const where = [flags.retainOnline ? null : 'online', flags.retainOffline ? null : 'offline']
        .filter(Boolean)
        .join(' and ');
      const what =
        flags.features.length > 0 ? flags.features.join(', ') : `every feature of '${flags.namespace}'`;
      const client = await clientForCommand(command, context);
      if (!flags.yes) {
        if (!context.confirm)
          throw new SlateError(
            'input',
            'CONFIRMATION_REQUIRED',
            `slate drop deletes every stored value of ${what}: pass --yes to confirm without a terminal`,
          );
        const token = await client.getToken();
        const environment = token.environmentId;
        const name = environment ? token.environmentIdToName[environment] : undefined;
        const target = `${name ?? environment ?? 'the default environment'} at ${client.apiServer}`;
        const confirmed = await context.confirm(
          `Delete every stored value (${where}) of ${what} in ${target}? This cannot be undone. [y/N] `,
        );
        if (!confirmed) throw new SlateError('input', 'DROP_CANCELLED', 'nothing was dropped');
      }
      const answer = await client.dropFeatures({
        ...(flags.features.length > 0 ? { features: flags.features } : {}),
        ...(flags.namespace ? { namespace: flags.namespace } : {}),
        retainOffline: flags.retainOffline ?? false,
        retainOnline: flags.retainOnline ?? false,
      });
      if (flags.json) return printJson(context, answer);
      const offline = answer.offline
        ? `offline: ${answer.offline_rows} ${answer.offline_rows === 1 ? 'value' : 'values'}`
        : null;
      const reached = [answer.online ? 'online' : null, offline].filter(Boolean).join('; ');
      printLine(context, `▸ dropped ${answer.features.join(', ')} (${reached || 'nothing reached'})`);
    });
}
