import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';
import { followDataset, positiveInteger } from './offline-query.ts';

/**
 * `slate datasets list [--limit 50] [--json]`: the environment's offline queries, newest first;
 * `slate datasets get <revision> [--out file.parquet|.csv] [--json]`: one's status, waiting for it to end
 * and downloading the result when `--out` is given.
 */
export function registerDatasets(program: Command, context: CliContext): void {
  const datasets = program
    .command('datasets')
    .description("list and fetch the environment's offline query results");

  datasets
    .command('list')
    .description('list offline queries, most recently updated first')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print the list as JSON')
    .action(async (flags: { limit: string; json?: boolean }, command: Command) => {
      const client = await clientForCommand(command, context);
      const { listDatasets } = await import('../connect.ts');
      const page = await listDatasets(client, { limit: positiveInteger(flags.limit, '--limit') });
      if (flags.json) return printJson(context, { items: page.items, next_cursor: page.nextCursor });
      if (page.items.length === 0) return printLine(context, 'no offline queries');
      printLine(
        context,
        formatTable(
          ['revision', 'status', 'name', 'created'],
          page.items.map((job) => [job.id, job.status, job.name ?? '-', job.created_at]),
        ),
      );
    });

  datasets
    .command('get')
    .description("show an offline query's status; with --out, wait for it and download the result")
    .argument('<revision>', 'the revision id (from `slate offline-query` or `datasets list`)')
    .option('--out <file>', 'write the result here (.parquet or .csv)')
    .option('--timeout <seconds>', 'how long to wait for the result', '600')
    .option('--json', 'print the outcome as JSON (progress goes to stderr)')
    .action(
      async (
        revision: string,
        flags: { out?: string; timeout: string; json?: boolean },
        command: Command,
      ) => {
        const client = await clientForCommand(command, context);
        const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
        if (!flags.out) {
          const { getDatasetStatus } = await import('../connect.ts');
          const status = await getDatasetStatus(client, revision);
          if (flags.json) return printJson(context, status);
          const meta = status.operation_metadata;
          printLine(context, `revision    ${status.operation_id}`);
          printLine(context, `status      ${status.status}`);
          printLine(context, `rows        ${meta?.num_rows ?? '-'}`);
          printLine(context, `partitions  ${meta?.num_partitions ?? '-'}`);
          if (status.error) printLine(context, `error       ${JSON.stringify(status.error)}`);
          return;
        }
        const outcome = await followDataset(client, revision, {
          timeoutMs: positiveInteger(flags.timeout, '--timeout') * 1000,
          out: resolve(context.cwd, flags.out),
          line,
        });
        if (flags.json) printJson(context, outcome);
      },
    );
}
