import { resolve } from 'node:path';
import type { SlateClient } from '@slate/client';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';

interface OfflineQueryFlags {
  readonly output: string[];
  readonly input?: string;
  readonly spineSql?: string;
  readonly maxRows: string;
  readonly maxSamples?: string;
  readonly recompute?: boolean;
  readonly datasetName?: string;
  readonly out?: string;
  readonly await: boolean;
  readonly timeout: string;
  readonly json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `slate offline-query --output user.name [--input users.csv | --spine-sql "select …"] [--out data.parquet]`:
 * runs an offline query (chalk.md §3.7) over the rows of a CSV or Parquet file (one column per input feature
 * FQN, optionally `__ts__` for each row's time) or of a spine SQL query, shows its progress, and downloads
 * the result as Parquet or CSV. `--no-await` returns once it is submitted (`slate datasets get` later).
 */
export function registerOfflineQuery(program: Command, context: CliContext): void {
  program
    .command('offline-query')
    .description(
      'run an offline query over a CSV/Parquet file or a spine SQL query, and download the dataset',
    )
    .requiredOption('--output <fqn>', 'a feature to compute (repeatable)', collect)
    .option(
      '--input <file>',
      'input rows: a .csv or .parquet file whose columns are feature FQNs (and __ts__)',
    )
    .option('--spine-sql <sql>', 'a SQL query whose rows are the inputs, instead of --input')
    .option('--max-rows <n>', 'refuse an input file with more rows', '1000000')
    .option('--max-samples <n>', 'sample at most this many rows')
    .option('--recompute', 'run resolvers for every output instead of reading stored values')
    .option('--dataset-name <name>', 'name the dataset')
    .option('--out <file>', 'write the result here (.parquet or .csv)')
    .option('--no-await', 'return once submitted, without waiting')
    .option('--timeout <seconds>', 'how long to wait for the result', '600')
    .option('--json', 'print the outcome as JSON (progress goes to stderr)')
    .action(async (flags: OfflineQueryFlags, command: Command) => {
      if ((flags.input === undefined) === (flags.spineSql === undefined))
        throw new SlateError('input', 'INVALID_FLAGS', 'give exactly one of --input and --spine-sql');
      const maxRows = positiveInteger(flags.maxRows, '--max-rows');
      const line = (text: string) => (flags.json ? context.stderr(`${text}\n`) : printLine(context, text));
      const { readColumnsFile } = await import('../datasets/tabular-files.ts');
      const inputs = flags.input
        ? await readColumnsFile(resolve(context.cwd, flags.input), { maxRows })
        : undefined;
      if (inputs)
        line(
          `▸ input ${flags.input}: ${Object.values(inputs)[0]?.length ?? 0} rows, ${Object.keys(inputs).join(', ')}`,
        );
      const client = await clientForCommand(command, context);
      const { submitOfflineQuery } = await import('../connect.ts');
      const submitted = await submitOfflineQuery(client, {
        ...(inputs ? { inputs } : {}),
        ...(flags.spineSql ? { spineSql: flags.spineSql } : {}),
        outputs: flags.output,
        recomputeFeatures: flags.recompute ?? false,
        ...(flags.maxSamples ? { maxSamples: positiveInteger(flags.maxSamples, '--max-samples') } : {}),
        ...(flags.datasetName ? { datasetName: flags.datasetName } : {}),
      });
      const revision = submitted.revisions[0]!;
      line(`▸ submitted offline query ${revision.revision_id} (${revision.status})`);
      if (!flags.await) {
        if (flags.json) printJson(context, { revision_id: revision.revision_id, status: revision.status });
        return;
      }
      const outcome = await followDataset(client, revision.revision_id, {
        timeoutMs: positiveInteger(flags.timeout, '--timeout') * 1000,
        out: flags.out ? resolve(context.cwd, flags.out) : undefined,
        line,
      });
      if (flags.json) printJson(context, outcome);
    });
}

/** Waits for a revision, downloads it when `out` is given; what `--json` prints. @throws on FAILED. */
export async function followDataset(
  client: SlateClient,
  revisionId: string,
  options: {
    readonly timeoutMs: number;
    readonly out: string | undefined;
    readonly line: (text: string) => void;
  },
): Promise<Record<string, unknown>> {
  const { downloadDataset, waitForDataset } = await import('../datasets/download-dataset.ts');
  const status = await waitForDataset(client, revisionId, {
    timeoutMs: options.timeoutMs,
    onProgress: (s) =>
      options.line(
        `▸ ${s.status.toLowerCase()}${s.operation_metadata?.num_rows == null ? '' : ` · ${s.operation_metadata.num_rows} rows`}`,
      ),
  });
  if (status.status !== 'COMPLETED')
    throw new SlateError(
      'internal',
      'OFFLINE_QUERY_FAILED',
      `offline query ${revisionId} ended ${status.status}: ${JSON.stringify(status.error ?? status.all_errors ?? null)}`,
      { revision_id: revisionId },
    );
  const partitions = status.operation_metadata?.num_partitions ?? 0;
  let rows: number | null = null;
  if (options.out) {
    rows = await downloadDataset(client, revisionId, partitions, options.out);
    options.line(`▸ downloaded ${rows} rows to ${options.out}`);
  }
  return {
    revision_id: revisionId,
    status: status.status,
    num_rows: status.operation_metadata?.num_rows ?? null,
    num_partitions: partitions,
    out: options.out ?? null,
    rows_written: rows,
  };
}

export function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new SlateError(
      'input',
      'INVALID_FLAGS',
      `${flag} must be a positive integer, not ${JSON.stringify(text)}`,
    );
  return value;
}
