import type { Command } from 'commander';
import { type CliContext, type ConnectionFlags, printJson, printLine } from '../cli-context.ts';

/**
 * `slate logout [--json]`: forgets the cached access tokens of the current credentials' folder and of the
 * user's config folder (`SLATE_CONFIG_DIR`, else `~/.slate`), so the next command exchanges a new token.
 * With `--forget-credentials`, also removes the credentials `slate login` saved in the config folder.
 */
export function registerLogout(program: Command, context: CliContext): void {
  program
    .command('logout')
    .description('forget cached access tokens (and, with --forget-credentials, saved login credentials)')
    .option('--forget-credentials', 'also delete the credentials `slate login` saved')
    .option('--json', 'print what was removed as JSON')
    .action(async (flags: { forgetCredentials?: boolean; json?: boolean }, command: Command) => {
      const { clearTokenCache, configFolder, credentialsFolder, loadCredentials, loginCredentialsPath } =
        await import('../connect.ts');
      const { rm } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const connection = command.optsWithGlobals<ConnectionFlags>();
      const folders = new Set<string>();
      const config = configFolder(context.env);
      if (config) folders.add(config);
      const credentials = await loadCredentials({
        cwd: context.cwd,
        env: context.env,
        fallbackFile: loginCredentialsPath(context.env),
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
      }).catch(() => undefined);
      const folder = credentials ? credentialsFolder(credentials, context.env) : undefined;
      if (folder) folders.add(folder);
      let tokens = 0;
      for (const each of folders) tokens += await clearTokenCache(each);
      let credentialsRemoved: string | null = null;
      if (flags.forgetCredentials && config) {
        credentialsRemoved = join(config, 'credentials.json');
        await rm(credentialsRemoved, { force: true });
      }
      if (flags.json)
        return printJson(context, {
          tokens_removed: tokens,
          folders: [...folders],
          credentials_removed: credentialsRemoved,
        });
      printLine(context, `▸ removed ${tokens} cached token${tokens === 1 ? '' : 's'}`);
      if (credentialsRemoved) printLine(context, `▸ removed ${credentialsRemoved}`);
    });
}
