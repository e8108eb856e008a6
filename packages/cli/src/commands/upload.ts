import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { z } from 'zod';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { positiveInteger } from './offline-query.ts';

interface UploadFlags {
  readonly idempotencyKey?: string;
  readonly maxRows: string;
  readonly json?: boolean;
}

/** The upload file: one column per feature FQN (each namespace's primary key included), all of one length. */
const UploadFileSchema = z
  .record(z.string().min(1), z.array(z.unknown()))
  .refine((columns) => Object.keys(columns).length > 0, 'the file names no feature')
  .refine(
    (columns) => new Set(Object.values(columns).map((values) => values.length)).size === 1,
    'every column must hold the same number of values',
  );

/**
 * `slate upload <file> [--idempotency-key <key>] [--json]`: stores the feature values of a CSV or Parquet
 * file (one column per feature FQN) or a JSON file of columns (`{"user.id": [1, 2], "user.name": ["Ada",
 * "Grace"]}`) through `POST /v1/upload_features/multi`. The
 * upload carries one `Idempotency-Key` (the flag's, else a random one) on every retry the client makes, so
 * a lost answer never stores the rows twice; pass the same key when re-running after a failure for the
 * same guarantee across runs.
 */
export function registerUpload(program: Command, context: CliContext): void {
  program
    .command('upload')
    .description('upload feature values from a CSV, Parquet or JSON file of columns (one per feature FQN)')
    .argument('<file>', 'a .csv or .parquet file, or JSON ({"user.id": [1], "user.name": ["Ada"]})')
    .option('--max-rows <n>', 'refuse a CSV or Parquet file with more rows', '1000000')
    .option('--idempotency-key <key>', 'the upload’s Idempotency-Key (1–128 printable ASCII characters)')
    .option('--json', 'print the answer as JSON')
    .action(async (file: string, flags: UploadFlags, command: Command) => {
      const path = resolve(context.cwd, file);
      const { readColumnsFile, tabularFormatOf } = await import('../datasets/tabular-files.ts');
      let json: unknown;
      if (tabularFormatOf(path)) {
        json = await readColumnsFile(path, { maxRows: positiveInteger(flags.maxRows, '--max-rows') });
      } else {
        try {
          json = JSON.parse(await readFile(path, 'utf8'));
        } catch (cause) {
          throw new SlateError(
            'input',
            'INVALID_UPLOAD_FILE',
            `${file}: not readable JSON (${String(cause)})`,
          );
        }
      }
      const parsed = UploadFileSchema.safeParse(json);
      if (!parsed.success)
        throw new SlateError('input', 'INVALID_UPLOAD_FILE', `${file}: ${parsed.error.issues[0]?.message}`);
      if (flags.idempotencyKey !== undefined && !/^[\x21-\x7e]{1,128}$/.test(flags.idempotencyKey))
        throw new SlateError(
          'input',
          'INVALID_IDEMPOTENCY_KEY',
          '--idempotency-key must be 1–128 printable ASCII characters',
        );
      const client = await clientForCommand(command, context);
      const answer = await client.uploadFeatures(parsed.data, {
        ...(flags.idempotencyKey === undefined ? {} : { idempotencyKey: flags.idempotencyKey }),
      });
      if (flags.json) return printJson(context, answer);
      const rows = Object.values(parsed.data)[0]?.length ?? 0;
      const features = Object.keys(parsed.data).length;
      printLine(context, `▸ uploaded ${rows} rows of ${features} features`);
    });
}
