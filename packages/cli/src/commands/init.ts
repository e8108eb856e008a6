import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, printJson, printLine } from '../cli-context.ts';

/**
 * `slate init [dir] [--project <name>] [--json]`: a new feature repository in `dir` (default: here) —
 * `slate.yaml`, `package.json`, `tsconfig.json`, feature classes, resolvers, their unit test and a README —
 * that lints, type-checks and deploys as it is. Refuses a folder that already has files in it.
 */
export function registerInit(program: Command, context: CliContext): void {
  program
    .command('init')
    .description('create a new feature repository (slate.yaml, tsconfig, an example feature, a test)')
    .argument('[dir]', 'the folder to create it in (default: the current folder)', '.')
    .option('--project <name>', 'the project name (default: from the folder name)')
    .option('--json', 'print the files written as JSON')
    .action(async (dirArgument: string, flags: { project?: string; json?: boolean }) => {
      const dir = resolve(context.cwd, dirArgument);
      const existing = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      if (existing.length > 0) {
        throw new SlateError(
          'conflict',
          'INIT_DIR_NOT_EMPTY',
          `${relative(context.cwd, dir) || '.'} is not empty (${existing.length} entries): slate init writes into a new or empty folder`,
          { dir },
        );
      }
      const { projectNameOf, repositoryTemplate } = await import('../init/repository-template.ts');
      const project = projectNameOf(flags.project ?? basename(dir));
      const files = repositoryTemplate(project);
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content, { flag: 'wx' });
      }
      if (flags.json) return printJson(context, { project, dir, files: Object.keys(files) });
      const shown = relative(context.cwd, dir) || '.';
      printLine(context, `✓ created feature repository '${project}' in ${shown}`);
      for (const path of Object.keys(files)) printLine(context, `  ${path}`);
      printLine(context, '');
      printLine(context, 'Next:');
      if (shown !== '.') printLine(context, `  cd ${shown}`);
      printLine(context, '  npm install && npm test   # the resolvers’ unit tests');
      printLine(context, '  npx slate lint            # graph and types, without deploying');
      printLine(context, '  npx slate apply           # deploy (slate up runs a server on this machine)');
    });
}
