/**
 * The access-token cache of every `slate` command, against the real platform in this process: consecutive
 * commands exchange one token, kept 0600 in a 0700 folder; a cached token the server refuses (401) is
 * replaced; `slate logout` removes it. And `slate env`, which lists and switches the credentials' default
 * environment.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

describe('slate env', () => {
  it('lists the environments and writes the chosen default into the credentials file', async () => {
    const project = join(qs.work, 'env-project');
    mkdirSync(join(project, '.slate'), { recursive: true });
    const credentialsPath = join(project, '.slate', 'credentials.json');
    const { environment: _environment, ...withoutEnvironment } = JSON.parse(
      readFileSync(qs.platform.credentialsPath, 'utf8'),
    ) as Record<string, string>;
    writeFileSync(credentialsPath, JSON.stringify(withoutEnvironment), { mode: 0o600 });
    // Credentials from the file only: no SLATE_CLIENT_* variables.
    const fromFile = (...args: string[]) =>
      runSlateWith(
        qs.platform,
        project,
        { env: { SLATE_CLIENT_ID: undefined, SLATE_CLIENT_SECRET: undefined, SLATE_CONFIG_DIR: configDir } },
        ...args,
      );

    const list = await fromFile('env', '--json');
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      current: 'dev',
      items: [{ id: 'dev', name: 'Development', project_id: 'fraud', team_id: 'acme', current: true }],
    });
    const table = await fromFile('env');
    expect(table.stdout).toMatch(/^\* +dev +Development +fraud +acme/m);

    const use = await fromFile('env', 'use', 'development');
    expect(use.code).toBe(0);
    expect(use.stdout).toBe(`▸ default environment: Development (dev), in ${credentialsPath}\n`);
    expect(JSON.parse(readFileSync(credentialsPath, 'utf8'))).toMatchObject({ environment: 'dev' });
    expect(statSync(credentialsPath).mode & 0o777).toBe(0o600);

    const unknown = await fromFile('env', 'use', 'production');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('ENVIRONMENT_NOT_FOUND');
  });
});
