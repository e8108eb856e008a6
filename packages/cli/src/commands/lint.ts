import { resolve } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, printJson, printLine } from '../cli-context.ts';

interface LintFlags {
  readonly dir: string;
  readonly json?: boolean;
  readonly typecheck: boolean;
}

/**
 * `slate lint [--dir .] [--json] [--no-typecheck]`: collect, lint and type-check the feature repository
 * without uploading; lint and type errors exit 2.
 */
export function registerLint(program: Command, context: CliContext): void {
  program
    .command('lint')
    .description('check the feature graph without deploying')
    .option('--dir <dir>', 'the feature repository (holding slate.yaml)', '.')
    .option('--json', 'print the issues as JSON')
    .option('--no-typecheck', 'skip the TypeScript type check (graph lint only)')
    .action(async (flags: LintFlags) => {
      // Loaded on use: collecting imports the repository through tsx.
      const { collectProject, formatLintIssue } = await import('../deploy/build-deployment.ts');
      const { artifact, config, lint } = await collectProject(resolve(context.cwd, flags.dir), {
        typeCheck: flags.typecheck,
      });
      const errors = lint.filter((issue) => issue.severity === 'error');
      if (flags.json) printJson(context, lint);
      else {
        for (const issue of lint) printLine(context, formatLintIssue(issue, config.dir));
        const features = artifact.namespaces.reduce((sum, ns) => sum + ns.features.length, 0);
        printLine(
          context,
          `${errors.length === 0 ? '✓' : '✗'} ${artifact.namespaces.length} namespaces, ${features} features, ` +
            `${artifact.resolvers.length} resolvers, ${errors.length} errors, ${lint.length - errors.length} warnings`,
        );
      }
      if (errors.length > 0) {
        throw new SlateError('input', 'LINT_FAILED', `${errors.length} lint error(s)`, {
          lint: errors.map((issue) => formatLintIssue(issue, config.dir)),
        });
      }
    });
}
