/**
 * `slate init` and the loop a new user follows from it, using only the CLI: a new repository whose unit
 * tests pass, lint (graph and types) clean, deploy, an online query, and an offline dataset on disk — against
 * the real platform in this process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectNameOf } from '../init/repository-template.ts';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
let shop: string;
const slate = (cwd: string, ...args: string[]) => runSlate(qs.platform, cwd, ...args);

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-init-cli-', { deploy: false });
  shop = join(qs.work, 'shop');
}, 180_000);
afterAll(async () => {
  await qs?.close();
});

describe('slate init', () => {
  it('writes a repository into a new folder and refuses a folder with files', async () => {
    const created = await slate(qs.work, 'init', 'shop', '--json');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const { project, files } = JSON.parse(created.stdout) as { project: string; files: string[] };
    expect(project).toBe('shop');
    for (const file of [
      'slate.yaml',
      'package.json',
      'tsconfig.json',
      'src/index.ts',
      'src/resolvers.test.ts',
    ])
      expect(files).toContain(file);
    for (const file of files) expect(existsSync(join(shop, file)), file).toBe(true);
    expect(readFileSync(join(shop, 'slate.yaml'), 'utf8')).toContain('project: shop\n');

    const again = await slate(qs.work, 'init', 'shop');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error[INIT_DIR_NOT_EMPTY]');
  });

  it('names projects from folder names as slate.yaml accepts them', () => {
    expect(projectNameOf('My Shop!')).toBe('my-shop');
    expect(projectNameOf('__')).toBe('features');
  });

  it("runs the repository's own unit tests (node:test, runResolver)", () => {
    const tsx = import.meta.resolve('tsx');
    const run = spawnSync(process.execPath, ['--import', tsx, '--test', 'src/resolvers.test.ts'], {
      cwd: shop,
      encoding: 'utf8',
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^# pass 3$/m);
    expect(run.stdout).toMatch(/^# fail 0$/m);
  }, 60_000);

  it('lints clean (graph and types), deploys, answers a query and writes an offline dataset', async () => {
    const lint = await slate(shop, 'lint');
    expect(lint.stderr).toBe('');
    expect(lint.stdout).toContain('✓ 1 namespaces, 5 features, 3 resolvers, 0 errors, 0 warnings');

    const apply = await slate(shop, 'apply');
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);

    const query = await slate(
      shop,
      'query',
      '--in',
      'customer.id=1',
      '--out',
      'customer.email_domain',
      '--out',
      'customer.is_big_spender',
      '--json',
    );
    expect(query.code, query.stderr).toBe(0);
    const answer = JSON.parse(query.stdout) as { data: { field: string; value: unknown }[] };
    const values = Object.fromEntries(answer.data.map((d) => [d.field, d.value]));
    // The template's sample rows: customer 1 is ada@example.com with 1,250.50 USD spent.
    expect(values).toEqual({ 'customer.email_domain': 'example.com', 'customer.is_big_spender': 1 });

    writeFileSync(join(shop, 'spine.csv'), 'customer.id\n1\n2\n');
    const offline = await slate(
      shop,
      'offline-query',
      '--input',
      'spine.csv',
      '--output',
      'customer.email_domain',
      '--output',
      'customer.is_big_spender',
      '--recompute',
      '--out',
      'dataset.csv',
    );
    expect(offline.code, offline.stderr).toBe(0);
    const [header, ...rows] = readFileSync(join(shop, 'dataset.csv'), 'utf8').trim().split('\n');
    const columns = header!.split(',');
    const at = (row: string, name: string) => row.split(',')[columns.indexOf(name)];
    const byId = Object.fromEntries(
      rows.map((row) => [
        at(row, 'customer.id'),
        [at(row, 'customer.email_domain'), at(row, 'customer.is_big_spender')],
      ]),
    );
    // Customer 2 is grace@navy.mil with 310 USD.
    expect(byId).toEqual({ '1': ['example.com', '1'], '2': ['navy.mil', '0'] });
  }, 240_000);
});
