import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

interface DeleteFlags {
  readonly keys: string[];
  readonly features: string[];
  readonly namespace?: string;
  readonly retainOffline?: boolean;
  readonly retainOnline?: boolean;
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
 * `slate delete --keys 123[,456] (--features user.a[,user.b] | --namespace user) [--retain-offline]
 * [--retain-online] [--json]`: removes the stored values of some entities, as the seed product's
 * `chalk delete` (`DELETE /v1/features/rows`): online and offline unless told to keep one. Keys that look
 * like integers are sent as numbers.
 */
export function registerDelete(program: Command, context: CliContext): void {
  program
    .command('delete')
    .description('delete stored feature values of some entities (online and offline) by primary key')
    .requiredOption('--keys <keys>', 'primary keys, comma-separated or repeated', collect, [])
    .option(
      '--features <fqns>',
      'features of one namespace, comma-separated or repeated (default: all)',
      collect,
      [],
    )
    .option('--namespace <name>', "the features' namespace (default: from --features)")
    .option('--retain-offline', 'keep the offline store’s values')
    .option('--retain-online', 'keep the online store’s values')
    .option('--json', 'print the answer as JSON')
    .action(async (flags: DeleteFlags, command: Command) => {
      const namespaces = new Set(flags.features.map((fqn) => fqn.split('.')[0]!));
      if (flags.namespace) namespaces.add(flags.namespace);
      if (namespaces.size !== 1) {
        throw new SlateError(
          'input',
          'INVALID_DELETE',
          namespaces.size === 0
            ? 'name the features (--features user.name) or their namespace (--namespace user)'
            : `features of one namespace at a time (got ${[...namespaces].join(', ')})`,
        );
      }
      if (flags.retainOffline && flags.retainOnline)
        throw new SlateError(
          'input',
          'INVALID_DELETE',
          '--retain-offline and --retain-online leave nothing to delete',
        );
      const [namespace] = namespaces;
      const primaryKeys = flags.keys.map((key) => (/^-?\d{1,15}$/.test(key) ? Number(key) : key));
      const client = await clientForCommand(command, context);
      const answer = await client.deleteFeatures({
        namespace: namespace!,
        ...(flags.features.length > 0 ? { features: flags.features } : {}),
        primaryKeys,
        retainOffline: flags.retainOffline ?? false,
        retainOnline: flags.retainOnline ?? false,
      });
      if (flags.json) return printJson(context, answer);
      const where = [flags.retainOnline ? null : 'online', flags.retainOffline ? null : 'offline'].filter(
        Boolean,
      );
      printLine(
        context,
        `▸ deleted ${flags.features.length > 0 ? flags.features.join(', ') : `every ${namespace} feature`} ` +
          `of ${primaryKeys.length} ${primaryKeys.length === 1 ? 'entity' : 'entities'} (${where.join(' and ')})`,
      );
    });
}
