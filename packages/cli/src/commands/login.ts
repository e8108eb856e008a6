import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, type ConnectionFlags, printJson, printLine } from '../cli-context.ts';

/**
 * `slate login [--api-server URL] [--no-browser] [--json]`: logs in through the browser (the OAuth 2.0
 * device authorization grant, RFC 8628: the approval page opens with a code to check, or the URL and code
 * are printed to open anywhere), and receives service-token credentials for the environment the user
 * approved. `slate login --client-id ID` instead takes an existing service token, the client secret on
 * standard input (`printf %s "$SECRET" | slate login --client-id ID`). Either way it checks the credentials
 * by exchanging a token, then saves them where every command finds them when no project has its own —
 * `credentials.json` in the config folder (`SLATE_CONFIG_DIR`, else `~/.slate`; file 0600, folder 0700).
 * The secret is never printed. `slate logout --forget-credentials` removes the file.
 */
export function registerLogin(program: Command, context: CliContext): void {
  program
    .command('login')
    .description(
      'log in through the browser (device code), or save a service token (--client-id, secret on stdin)',
    )
    .option('--no-browser', 'print the approval URL and code instead of opening a browser')
    .option('--json', 'print where the credentials were saved as JSON')
    .action(async (flags: { json?: boolean; browser?: boolean }, command: Command) => {
      const connection = command.optsWithGlobals<ConnectionFlags>();
      const { createSlateClient, DEFAULT_API_SERVER, loginCredentialsPath } = await import('../connect.ts');
      const path = loginCredentialsPath(context.env);
      if (!path)
        throw new SlateError(
          'input',
          'NO_CONFIG_FOLDER',
          'no home folder: set SLATE_CONFIG_DIR to where credentials go',
        );
      const apiServer = connection.apiServer ?? DEFAULT_API_SERVER;
      let clientId = connection.clientId;
      let clientSecret: string;
      let approvedEnvironment: string | undefined;
      if (!clientId) {
        const { deviceLogin } = await import('../auth/device-login.ts');
        const { hostname } = await import('node:os');
        const granted = await deviceLogin({
          apiServer,
          clientName: `slate CLI on ${hostname()}`.slice(0, 100),
          fetch: context.fetch ?? fetch,
          notify: context.stderr,
          ...(flags.browser !== false && context.openUrl ? { openUrl: context.openUrl } : {}),
        });
        clientId = granted.client_id;
        clientSecret = granted.client_secret;
        approvedEnvironment = granted.environment;
      } else {
        if (!context.stdin)
          throw new SlateError('input', 'NO_STDIN', 'the client secret is read from standard input');
        clientSecret = (await context.stdin(4096)).replace(/\r?\n$/, '');
        if (clientSecret.length === 0)
          throw new SlateError(
            'input',
            'EMPTY_SECRET',
            'standard input was empty: printf %s "$SECRET" | slate login --client-id …',
          );
      }
      const environmentFlag = connection.environment ?? approvedEnvironment;
      const client = createSlateClient({
        apiServer,
        clientId,
        clientSecret,
        ...(environmentFlag ? { environment: environmentFlag } : {}),
        ...(context.fetch ? { fetch: context.fetch } : {}),
      });
      // Refused credentials stop here, with the server's code (authentication → exit 3); nothing is saved.
      const token = await client.getToken();
      const file = {
        api_server: apiServer,
        client_id: clientId,
        client_secret: clientSecret,
        ...(environmentFlag ? { environment: environmentFlag } : {}),
        ...(connection.queryServer ? { query_server: connection.queryServer } : {}),
      };
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await chmod(dirname(path), 0o700);
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, path);
      const environment = token.environmentId ?? environmentFlag ?? null;
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
