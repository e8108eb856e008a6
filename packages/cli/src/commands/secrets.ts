import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

/** The metadata plane's limit on a secret value (64 KiB); standard input is read up to one byte past it. */
const SECRET_VALUE_LIMIT = 64 * 1024;

/**
 * `slate secrets set <name>` (the value from standard input: `printf %s "$PW" | slate secrets set PG_PW`),
 * `slate secrets list` and `slate secrets delete <name>`, each with `--json`. The value is never taken from
 * an argument (it would land in the shell history and `ps`), never printed and never logged; one trailing
 * newline is dropped, as `echo` adds it.
 */
export function registerSecrets(program: Command, context: CliContext): void {
  const secrets = program.command('secrets').description("set, list and delete the environment's secrets");

  secrets
    .command('set')
    .description('set a secret; its value is read from standard input and never printed')
    .argument('<name>', 'the secret name (letters, digits, _ . -)')
    .option('--keep-newline', 'keep a trailing newline of the value')
    .option('--json', 'print the stored secret (name and times, never the value) as JSON')
    .action(async (name: string, flags: { keepNewline?: boolean; json?: boolean }, command: Command) => {
      if (!context.stdin)
        throw new SlateError('input', 'NO_STDIN', 'the secret value is read from standard input');
      let value = await context.stdin(SECRET_VALUE_LIMIT + 2);
      if (!flags.keepNewline) value = value.replace(/\r?\n$/, '');
      if (value.length === 0)
        throw new SlateError(
          'input',
          'EMPTY_SECRET',
          'standard input was empty: pipe the value in (printf %s "$VALUE" | slate secrets set NAME)',
        );
      const client = await clientForCommand(command, context);
      const { setSecret } = await import('../connect.ts');
      const secret = await setSecret(client, name, value);
      if (flags.json) return printJson(context, secret);
      printLine(context, `▸ secret ${secret.name} set in ${secret.environment_id}`);
    });

  secrets
    .command('list')
    .description('list secret names and when they changed (never values)')
    .option('--json', 'print the secrets as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { listSecrets } = await import('../connect.ts');
      const items = await listSecrets(client);
      if (flags.json) return printJson(context, { items });
      if (items.length === 0) return printLine(context, 'no secrets');
      printLine(
        context,
        formatTable(
          ['name', 'updated', 'by'],
          items.map((s) => [s.name, s.updated_at ?? '-', s.updated_by ?? '-']),
        ),
      );
    });

  secrets
    .command('delete')
    .description('delete a secret')
    .argument('<name>', 'the secret name')
    .option('--json', 'print the answer as JSON')
    .action(async (name: string, flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { deleteSecret } = await import('../connect.ts');
      await deleteSecret(client, name);
      if (flags.json) return printJson(context, { name, deleted: true });
      printLine(context, `▸ secret ${name} deleted`);
    });
}
