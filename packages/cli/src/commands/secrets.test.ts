/**
 * `slate secrets set|list|delete` against the real platform in this process: the value goes in from
 * standard input and is never printed; list shows names only; delete removes; errors have their exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlateWith } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
const slate = (stdin: string | undefined, ...args: string[]) =>
  runSlateWith(qs.platform, qs.work, stdin === undefined ? {} : { stdin }, ...args);

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-secrets-cli-', { deploy: false });
}, 120_000);
afterAll(async () => {
  await qs?.close();
});

describe('slate secrets', () => {
  const value = 's3cr3t-value-7f1c';

  it('sets from stdin without echoing, lists names only, deletes', async () => {
    const set = await slate(`${value}\n`, 'secrets', 'set', 'PG_PASSWORD');
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('▸ secret PG_PASSWORD set in dev\n');

    const json = await slate(value, 'secrets', 'set', 'API_KEY', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'API_KEY', environment_id: 'dev' });

    const list = await slate(undefined, 'secrets', 'list', '--json');
    expect(list.code).toBe(0);
    const names = (JSON.parse(list.stdout) as { items: { name: string }[] }).items.map((s) => s.name);
    expect(names.sort()).toEqual(['API_KEY', 'PG_PASSWORD']);
    const table = await slate(undefined, 'secrets', 'list');
    expect(table.stdout).toMatch(/^PG_PASSWORD +\S+ +\S+/m);
    for (const run of [set, json, list, table]) expect(run.stdout + run.stderr).not.toContain(value);

    const deleted = await slate(undefined, 'secrets', 'delete', 'API_KEY');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe('▸ secret API_KEY deleted\n');
    const after = await slate(undefined, 'secrets', 'list', '--json');
    expect((JSON.parse(after.stdout) as { items: { name: string }[] }).items.map((s) => s.name)).toEqual([
      'PG_PASSWORD',
    ]);
  });

  it('refuses an empty value, a bad name and an unknown secret with their exit codes', async () => {
    const empty = await slate('\n', 'secrets', 'set', 'X');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('error[EMPTY_SECRET]');
    const badName = await slate(value, 'secrets', 'set', '1 bad name');
    expect(badName.code).toBe(2);
    expect(badName.stderr).not.toContain(value);
    const missing = await slate(undefined, 'secrets', 'delete', 'NOPE');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('SECRET_NOT_FOUND');
  });
});
