import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import {
  type CliContext,
  type ConnectionFlags,
  clientForCommand,
  printJson,
  printLine,
} from '../cli-context.ts';
import { formatTable } from '../format-table.ts';

/**
 * `slate env [--json]`: the environments the credentials can see, the default one marked `*`;
 * `slate env use <id-or-name>`: makes one the default by writing `environment` into the credentials file
 * in use (`.slate/credentials.json`, kept 0600). `--environment` and `SLATE_ENVIRONMENT` still win.
 */
export function registerEnv(program: Command, context: CliContext): void {
  const env = program.command('env').description('list environments, or switch the default one (env use)');

  env
    .command('list', { isDefault: true })
    .description('list the environments the credentials can see')
    .option('--json', 'print the environments as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { listEnvironments } = await import('../connect.ts');
      const [environments, token] = await Promise.all([listEnvironments(client), client.getToken()]);
      const current = token.environmentId;
      if (flags.json)
        return printJson(context, {
          current: current ?? null,
          items: environments.map((e) => ({ ...e, current: e.id === current })),
        });
      printLine(
        context,
        formatTable(
          ['', 'id', 'name', 'project', 'team', 'active deployment'],
          environments.map((e) => [
            e.id === current ? '*' : '',
            e.id,
            e.name,
            e.project_id ?? '-',
            e.team_id ?? '-',
            e.active_deployment_id ?? '-',
          ]),
        ),
      );
    });

  env
    .command('use')
    .description('make an environment the default of the credentials file in use')
    .argument('<environment>', 'an environment id or name')
    .option('--json', 'print the chosen environment as JSON')
    .action(async (wanted: string, flags: { json?: boolean }, command: Command) => {
      const connection = command.optsWithGlobals<ConnectionFlags>();
      const { listEnvironments, loadCredentials, loginCredentialsPath } = await import('../connect.ts');
      const credentials = await loadCredentials({
        cwd: context.cwd,
        env: context.env,
        fallbackFile: loginCredentialsPath(context.env),
        ...(connection.clientId ? { clientId: connection.clientId } : {}),
        ...(connection.clientSecret ? { clientSecret: connection.clientSecret } : {}),
      });
      if (!isAbsolute(credentials.source))
        throw new SlateError(
          'input',
          'NO_CREDENTIALS_FILE',
          `the credentials come from ${credentials.source}, not a file: set SLATE_ENVIRONMENT or pass --environment instead`,
        );
      const client = await clientForCommand(command, context);
      const environments = await listEnvironments(client);
      const lower = wanted.toLowerCase();
      const match =
        environments.find((e) => e.id === wanted) ?? environments.find((e) => e.name.toLowerCase() === lower);
      if (!match)
        throw new SlateError(
          'not_found',
          'ENVIRONMENT_NOT_FOUND',
          `no environment ${JSON.stringify(wanted)} among ${environments.map((e) => e.id).join(', ') || 'none'}`,
        );
      const path = credentials.source;
      const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      const temporary = `${path}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ ...file, environment: match.id }, null, 2)}\n`, {
        mode: 0o600,
      });
      await chmod(temporary, 0o600);
      await rename(temporary, path);
      if (flags.json) return printJson(context, { environment: match, credentials_file: path });
      printLine(context, `▸ default environment: ${match.name} (${match.id}), in ${path}`);
    });
}
