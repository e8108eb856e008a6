import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

/**
 * `slate diff [--dir .] [--json] [--no-typecheck]` (alias `plan`): what `slate apply` would deploy, without deploying: the
 * target (server, team, project, environment), the features, resolvers and schedules added, removed and
 * changed against the active deployment, whether the code changed, the git commit with its dirty mark,
 * and the diff's hash.
 */
export function registerDiff(program: Command, context: CliContext): void {
  program
    .command('diff')
    .alias('plan')
    .description('show the target and the changes `slate apply` would deploy, without deploying')
    .option('--dir <dir>', 'the feature repository (holding slate.yaml)', '.')
    .option('--json', 'print the plan as JSON')
    .option('--no-typecheck', 'skip the TypeScript type check')
    .action(async (flags: { dir: string; json?: boolean; typecheck: boolean }, command: Command) => {
      const dir = resolve(context.cwd, flags.dir);
      const client = await clientForCommand(command, context, dir);
      const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
      // Loaded on use: bundling pulls in esbuild and tsx, which `slate --help` should not pay for.
      const { formatPlan, planDeployment, planJson } = await import('../deploy/plan-deployment.ts');
      const plan = await planDeployment({ dir, client, onProgress: line, typeCheck: flags.typecheck });
      if (flags.json) return printJson(context, planJson(plan));
      for (const text of formatPlan(plan)) printLine(context, text);
    });
}
