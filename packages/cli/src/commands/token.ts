import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

/**
 * `slate token [--json]`: prints a bearer token for `Authorization: Bearer …` (as `chalk token`); with
 * `--json` also its expiry and environment.
 */
export function registerToken(program: Command, context: CliContext): void {
  program
    .command('token')
    .description('print a bearer token')
    .option('--json', 'print the token with its expiry and environment')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const token = await (await clientForCommand(command, context)).getToken();
      if (!flags.json) return printLine(context, token.accessToken);
      printJson(context, {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_at: token.expiresAt.toISOString(),
        environment_id: token.environmentId ?? null,
        engines: token.engines,
      });
    });
}
