/**
 * The access-token cache of every `slate` command, against the real platform in this process: consecutive
 * commands exchange one token, kept 0600 in a 0700 folder; a cached token the server refuses (401) is
 * replaced; `slate logout` removes it.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlateWith } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
let configDir: string;
const exchanges: string[] = [];

/** The global fetch, counting token exchanges. */
const countingFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (new URL(url).pathname === '/v1/oauth/token') exchanges.push(url);
  return fetch(input, init);
};

const slate = (...args: string[]) =>
  runSlateWith(qs.platform, qs.work, { env: { SLATE_CONFIG_DIR: configDir }, fetch: countingFetch }, ...args);

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-token-cache-', { deploy: false });
  configDir = join(qs.work, 'config');
}, 120_000);
afterAll(async () => {
  await qs?.close();
});

describe('token cache', () => {
  it('reuses one token across commands, 0600 in a 0700 folder; replaces a refused one; logout removes it', async () => {
    const first = await slate('whoami', '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(exchanges).toHaveLength(1);
    const second = await slate('deployments', 'list');
    expect(second.code).toBe(0);
    expect(exchanges).toHaveLength(1);

    const folder = join(configDir, 'tokens');
    const files = readdirSync(folder);
    expect(files).toHaveLength(1);
    const file = join(folder, files[0]!);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(stored.api_server).toBe(qs.platform.apiServer);
    expect(Date.parse(String(stored.expires_at))).toBeGreaterThan(Date.now() + 60_000);

    // A token the server no longer accepts (revoked, or signed with a rotated key) is refreshed on 401.
    writeFileSync(file, JSON.stringify({ ...stored, access_token: 'not-a-token' }));
    const refreshed = await slate('whoami');
    expect(refreshed.stderr).toBe('');
    expect(refreshed.code).toBe(0);
    expect(exchanges).toHaveLength(2);
    const replaced = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(replaced.access_token).not.toBe('not-a-token');

    const logout = await slate('logout', '--json');
    expect(logout.code).toBe(0);
    expect(JSON.parse(logout.stdout)).toMatchObject({ tokens_removed: 1 });
    expect(readdirSync(folder)).toEqual([]);
    expect((await slate('whoami')).code).toBe(0);
    expect(exchanges).toHaveLength(3);
  });

  it('keeps one token per environment', async () => {
    const before = exchanges.length;
    expect((await slate('whoami', '--environment', 'dev')).code).toBe(0);
    expect((await slate('whoami')).code).toBe(0);
    // `--environment dev` is its own key; the plain run reuses the token of the first test.
    expect(exchanges.length - before).toBe(1);
    expect(readdirSync(join(configDir, 'tokens'))).toHaveLength(2);
  });
});
