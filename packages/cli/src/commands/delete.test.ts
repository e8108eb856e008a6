/**
 * `slate delete` against the real platform in this process serving the quickstart: an uploaded value of a
 * feature no resolver computes (`user.last_page`, fed by a stream) is served, deleted for one key, and then
 * gone online while another key keeps its value; bad flags are refused before any request.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
const slate = (...args: string[]) => runSlate(qs.platform, qs.work, ...args);

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-delete-cli-');
}, 180_000);
afterAll(async () => {
  await qs?.close();
});

async function lastPage(id: number): Promise<unknown> {
  const run = await slate('query', '--in', `user.id=${id}`, '--out', 'user.last_page', '--json');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { data: { field: string; value: unknown }[] }).data.find(
    (d) => d.field === 'user.last_page',
  )?.value;
}

describe('slate delete', () => {
  it("removes one entity's stored value and leaves the others", { timeout: 120_000 }, async () => {
    writeFileSync(
      join(qs.work, 'pages.json'),
      JSON.stringify({ 'user.id': [1, 2], 'user.last_page': ['/pricing', '/docs'] }),
    );
    expect((await slate('upload', 'pages.json')).code).toBe(0);
    expect(await lastPage(1)).toBe('/pricing');
    expect(await lastPage(2)).toBe('/docs');

    const deleted = await slate('delete', '--keys', '1', '--features', 'user.last_page');
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe('▸ deleted user.last_page of 1 entity (online and offline)\n');
    expect(await lastPage(1)).toBeNull();
    expect(await lastPage(2)).toBe('/docs');
  });

  it('refuses features of several namespaces, none named, and keeping both stores', async () => {
    const mixed = await slate('delete', '--keys', '1', '--features', 'user.name,transaction.amount');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('error[INVALID_DELETE]');
    expect((await slate('delete', '--keys', '1')).stderr).toContain('error[INVALID_DELETE]');
    const both = await slate(
      'delete',
      '--keys',
      '1',
      '--namespace',
      'user',
      '--retain-online',
      '--retain-offline',
    );
    expect(both.code).toBe(2);
  });
});
