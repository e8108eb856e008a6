/**
 * `slate drop` against the real platform in this process serving the quickstart: uploaded values of two
 * features are served online and stored offline; dropping one of them leaves it null online and absent
 * offline (an offline query reading stored values answers empty cells) while the other feature keeps its
 * values in both stores. Without a terminal the drop needs `--yes`; a "no" at the prompt drops nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlate, runSlateWith } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
const slate = (...args: string[]) => runSlate(qs.platform, qs.work, ...args);

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-drop-cli-');
}, 420_000);
afterAll(async () => {
  await qs?.close();
});

// Keys no other query of this test touches, so every stored value of theirs is an uploaded one.
const ids = [9101, 9102];
const pages = ['/pricing', '/docs'];
const emails = ['a@drop.test', 'b@drop.test'];

async function online(id: number, fqn: string): Promise<unknown> {
  const run = await slate('query', '--in', `user.id=${id}`, '--out', fqn, '--json');
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { data: { field: string; value: unknown }[] }).data.find(
    (d) => d.field === fqn,
  )?.value;
}

/** Stored values (no recompute) of `user.last_page` and `user.email` for `ids`, from an offline query. */
async function offline(): Promise<Record<string, string[]>> {
  writeFileSync(join(qs.work, 'drop-ids.csv'), `user.id\n${ids.join('\n')}\n`);
  const run = await slate(
    'offline-query',
    '--input',
    'drop-ids.csv',
    '--output',
    'user.last_page',
    '--output',
    'user.email',
    '--out',
    'drop-out.csv',
  );
  expect(run.code, run.stderr).toBe(0);
  const [header, ...rows] = readFileSync(join(qs.work, 'drop-out.csv'), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const sorted = rows
    .map((row) => row.split(','))
    .sort((a, b) => Number(a[columns.indexOf('user.id')]) - Number(b[columns.indexOf('user.id')]));
  return Object.fromEntries(
    ['user.last_page', 'user.email'].map((fqn) => [fqn, sorted.map((row) => row[columns.indexOf(fqn)]!)]),
  );
}

describe('slate drop', () => {
  it('needs --yes without a terminal, and a "no" at the prompt drops nothing', async () => {
    const refused = await slate('drop', '--features', 'user.last_page');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('error[CONFIRMATION_REQUIRED]');
    const asked: string[] = [];
    const cancelled = await runSlateWith(
      qs.platform,
      qs.work,
      {
        confirm: async (question) => {
          asked.push(question);
          return false;
        },
      },
      'drop',
      '--features',
      'user.last_page',
    );
    expect(cancelled.code).toBe(2);
    expect(cancelled.stderr).toContain('error[DROP_CANCELLED]');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('user.last_page');
    expect(asked[0]).toContain(qs.platform.apiServer);
  });

  it('refuses an unknown feature with a did-you-mean, and nothing named', async () => {
    const typo = await slate('drop', '--features', 'user.last_pgae', '--yes');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean 'user.last_page'?");
    expect((await slate('drop', '--yes')).stderr).toContain('error[INVALID_DROP]');
  });

  it('deletes every value of a feature online and offline, and keeps the other features', {
    timeout: 240_000,
  }, async () => {
    writeFileSync(
      join(qs.work, 'drop.json'),
      JSON.stringify({ 'user.id': ids, 'user.last_page': pages, 'user.email': emails }),
    );
    expect((await slate('upload', 'drop.json')).code).toBe(0);
    expect(await online(ids[0]!, 'user.last_page')).toBe(pages[0]);
    // Background persistence brings uploads offline; wait until both features are there.
    for (let attempt = 0; ; attempt++) {
      const stored = await offline();
      if (stored['user.last_page']!.join() === pages.join() && stored['user.email']!.join() === emails.join())
        break;
      if (attempt > 60) throw new Error(`uploads never reached the offline store: ${JSON.stringify(stored)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    const dropped = await slate('drop', '--features', 'user.last_page', '--yes', '--json');
    expect(dropped.stderr).toBe('');
    expect(dropped.code).toBe(0);
    const answer = JSON.parse(dropped.stdout) as {
      features: string[];
      online: boolean;
      offline: boolean;
      offline_rows: number;
    };
    expect(answer).toMatchObject({ features: ['user.last_page'], online: true, offline: true });
    // At least the two uploaded rows (the example's stream may have stored others).
    expect(answer.offline_rows).toBeGreaterThanOrEqual(ids.length);

    // Offline first: the online queries below store their (null) answers offline too, as every query does.
    expect(await offline()).toEqual({ 'user.last_page': ['', ''], 'user.email': emails });
    for (const id of ids) expect(await online(id, 'user.last_page')).toBeNull();
    // (`user.email` is computed by a resolver online, never read from the cache: its stored values are
    // checked offline; the online store keeping other features is the online conformance suite's.)

    // Human output. (The online queries above stored their null answers offline, as every query's
    // results are, so a second drop may find those: the count is not asserted.)
    const again = await slate('drop', '--features', 'user.last_page', '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^▸ dropped user\.last_page \(online; offline: \d+ values?\)\n$/);
  });
});
