import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

interface ApplyFlags {
  readonly dir: string;
  readonly await: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly timeout: string;
  readonly typecheck: boolean;
}

/**
 * `slate apply [--dir .] [--no-await] [--force] [--json] [--timeout 120]`: deploy the feature repository.
 * Shows the target and the diff against the active deployment (as `slate diff`), then live progress:
 * upload, validation, rollout on each data-plane instance, ready. Progress goes to stdout, or to stderr
 * with `--json` so stdout holds only the result.
 */
export function registerApply(program: Command, context: CliContext): void {
  program
    .command('apply')
    .description('collect, lint, bundle and deploy the feature repository')
    .option('--dir <dir>', 'the feature repository (holding slate.yaml)', '.')
    .option('--no-await', 'return once the deployment is recorded, without waiting for the data plane')
    .option('--force', 'deploy even when the environment already serves this exact bundle')
    .option('--json', 'print the deployment as JSON')
    .option('--timeout <seconds>', 'how long to wait for the data plane', '120')
    .option('--no-typecheck', 'skip the TypeScript type check before deploying')
    .action(async (flags: ApplyFlags, command: Command) => {
      const dir = resolve(context.cwd, flags.dir);
      const client = await clientForCommand(command, context, dir);
      const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
      // Loaded on use: bundling pulls in esbuild and tsx, which `slate --help` should not pay for.
      const { applyDeployment } = await import('../deploy/apply-deployment.ts');
      const result = await applyDeployment({
        dir,
        client,
        await: flags.await,
        force: flags.force ?? false,
        typeCheck: flags.typecheck,
        timeoutMs: Number(flags.timeout) * 1000,
        onProgress: line,
      });
      if (flags.json) {
        const { planJson } = await import('../deploy/plan-deployment.ts');
        printJson(context, {
          ...planJson(result.plan),
          deployment: result.deployment,
          unchanged: result.unchanged,
        });
      }
    });
}
