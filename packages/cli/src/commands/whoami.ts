import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

/** `slate whoami [--json]`: the identity behind the credentials, its environment and team. */
export function registerWhoAmI(program: Command, context: CliContext): void {
  program
    .command('whoami')
    .description('show who the credentials belong to')
    .option('--json', 'print the answer as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const [me, token] = await Promise.all([client.whoAmI(), client.getToken()]);
      if (flags.json) return printJson(context, me);
      const environment = me.environment_id ?? token.environmentId;
      const name = environment ? token.environmentIdToName[environment] : undefined;
      printLine(context, `user         ${me.user}`);
      printLine(context, `environment  ${environment ?? '-'}${name ? ` (${name})` : ''}`);
      printLine(context, `team         ${me.team_id ?? '-'}`);
      printLine(context, `api server   ${client.apiServer}`);
      printLine(context, `query server ${await client.queryServer()}`);
    });
}
