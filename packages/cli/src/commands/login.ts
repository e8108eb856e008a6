import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, type ConnectionFlags, printJson, printLine } from '../cli-context.ts';

/**
 * `slate login --api-server URL --client-id ID [--environment E] [--json]`, the client secret on standard
 * input (`printf %s "$SECRET" | slate login …`): checks the credentials by exchanging a token, then saves
 * them where every command finds them when no project has its own — `credentials.json` in the config folder
 * (`SLATE_CONFIG_DIR`, else `~/.slate`; file 0600, folder 0700). The secret is never printed.
 * `slate logout --forget-credentials` removes the file.
 */
export function registerLogin(program: Command, context: CliContext): void {
  program
    .command('login')
    .description('check a service token and save it as the default credentials (secret read from stdin)')
    .option('--json', 'print where the credentials were saved as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const connection = command.optsWithGlobals<ConnectionFlags>();
      const { createSlateClient, DEFAULT_API_SERVER, loginCredentialsPath } = await import('../connect.ts');
      const path = loginCredentialsPath(context.env);
      if (!path)
        throw new SlateError(
          'input',
          'NO_CONFIG_FOLDER',
          'no home folder: set SLATE_CONFIG_DIR to where credentials go',
        );
      const clientId = connection.clientId;
      if (!clientId)
        throw new SlateError(
          'input',
          'NO_CLIENT_ID',
          'pass --client-id (a service token’s client id, from the web UI’s Tokens page)',
        );
      if (!context.stdin)
        throw new SlateError('input', 'NO_STDIN', 'the client secret is read from standard input');
      const clientSecret = (await context.stdin(4096)).replace(/\r?\n$/, '');
      if (clientSecret.length === 0)
        throw new SlateError(
          'input',
          'EMPTY_SECRET',
          'standard input was empty: printf %s "$SECRET" | slate login …',
        );
      const apiServer = connection.apiServer ?? DEFAULT_API_SERVER;
      const client = createSlateClient({
        apiServer,
        clientId,
        clientSecret,
        ...(connection.environment ? { environment: connection.environment } : {}),
        ...(context.fetch ? { fetch: context.fetch } : {}),
      });
      // Refused credentials stop here, with the server's code (authentication → exit 3); nothing is saved.
      const token = await client.getToken();
      const file = {
        api_server: apiServer,
        client_id: clientId,
        client_secret: clientSecret,
        ...(connection.environment ? { environment: connection.environment } : {}),
        ...(connection.queryServer ? { query_server: connection.queryServer } : {}),
      };
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await chmod(dirname(path), 0o700);
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, path);
      const environment = token.environmentId ?? connection.environment ?? null;
      if (flags.json)
        return printJson(context, {
          credentials: path,
          api_server: apiServer,
          client_id: clientId,
          environment,
        });
      printLine(
        context,
        `✓ logged in to ${apiServer} as ${clientId}${environment ? ` (environment ${environment})` : ''}`,
      );
      printLine(context, `  saved to ${path}; \`slate logout --forget-credentials\` removes it`);
    });
}
