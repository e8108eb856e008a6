/**
 * `slate offline-query` and `slate datasets list|get` against the real platform in this process serving the
 * quickstart example: inputs from CSV and from Parquet, progress, the dataset downloaded as CSV and Parquet.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../../examples/quickstart/src/sample-data.ts';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
const slate = (...args: string[]) => runSlate(qs.platform, qs.work, ...args);

/** Runs SQL on a DuckDB of the test's own (to write a Parquet input and read a Parquet result). */
async function duck(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-offline-cli-');
}, 180_000);
afterAll(async () => {
  await qs?.close();
});

describe('slate offline-query', () => {
  it('runs over a CSV file and downloads the dataset as CSV, showing progress', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(join(qs.work, 'users.csv'), 'user.id\n2\n1\n');
    const run = await slate(
      'offline-query',
      '--input',
      'users.csv',
      '--output',
      'user.email',
      '--recompute',
      '--out',
      'emails.csv',
      '--dataset-name',
      'emails',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('▸ input users.csv: 2 rows, user.id');
    expect(run.stdout).toMatch(/▸ submitted offline query \S+/);
    expect(run.stdout).toMatch(/▸ completed · 2 rows/);
    expect(run.stdout).toContain(`▸ downloaded 2 rows to ${join(qs.work, 'emails.csv')}`);
    const [header, ...rows] = readFileSync(join(qs.work, 'emails.csv'), 'utf8').trim().split('\n');
    const columns = header!.split(',');
    const email = columns.indexOf('user.email');
    expect(email).toBeGreaterThanOrEqual(0);
    expect(rows.map((row) => row.split(',')[email]).sort()).toEqual([users[0].email, users[1].email].sort());
  });

  it('runs over a Parquet file, --json, and the dataset is listed and fetched again as Parquet', {
    timeout: 120_000,
  }, async () => {
    const input = join(qs.work, 'users.parquet');
    await duck(`COPY (SELECT * FROM (VALUES (3), (4), (5)) t("user.id")) TO '${input}' (FORMAT parquet)`);
    const run = await slate(
      'offline-query',
      '--input',
      'users.parquet',
      '--output',
      'user.name',
      '--recompute',
      '--json',
    );
    expect(run.code).toBe(0);
    const outcome = JSON.parse(run.stdout) as { revision_id: string; status: string; num_rows: number };
    expect(outcome).toMatchObject({ status: 'COMPLETED', num_rows: 3 });

    const list = await slate('datasets', 'list', '--json');
    expect(list.code).toBe(0);
    const ids = (JSON.parse(list.stdout) as { items: { id: string }[] }).items.map((job) => job.id);
    expect(ids).toContain(outcome.revision_id);

    const out = join(qs.work, 'names.parquet');
    const get = await slate('datasets', 'get', outcome.revision_id, '--out', 'names.parquet');
    expect(get.code).toBe(0);
    const names = await duck(`SELECT "user.name" FROM read_parquet('${out}') ORDER BY 1`);
    expect(names.map((row) => row[0])).toEqual([users[3].name, users[2].name, users[4].name].sort());
  });

  it('refuses both or neither input, a non-tabular file and an unknown revision', async () => {
    expect((await slate('offline-query', '--output', 'user.name')).code).toBe(2);
    writeFileSync(join(qs.work, 'users.txt'), 'x');
    const wrong = await slate('offline-query', '--input', 'users.txt', '--output', 'user.name');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('INVALID_INPUT_FILE');
    const missing = await slate('datasets', 'get', 'no-such-revision');
    expect(missing.code).toBe(4);
  });
});
