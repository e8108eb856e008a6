/**
 * `slate login` against the real platform in this process: a service token's secret from standard input is
 * checked by a token exchange and saved (0600 in a 0700 folder) as the default credentials, which commands
 * then use from any folder; a refused secret saves nothing; `logout --forget-credentials` removes it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';
import { runSlateWith } from './fixtures/run-slate.ts';

let qs: QuickstartPlatform;
let elsewhere: string;
let config: string;
let credentials: { client_id: string; client_secret: string };
/** Only the config folder: no SLATE_* credentials, no project credentials above `elsewhere`. */
const slate = (stdin: string | undefined, ...args: string[]) =>
  runSlateWith(
    qs.platform,
    elsewhere,
    {
      env: {
        SLATE_API_SERVER: undefined,
        SLATE_CLIENT_ID: undefined,
        SLATE_CLIENT_SECRET: undefined,
        SLATE_CONFIG_DIR: config,
      },
      ...(stdin === undefined ? {} : { stdin }),
    },
    ...args,
  );

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-login-cli-', { deploy: false });
  elsewhere = mkdtempSync(join(tmpdir(), 'slate-login-elsewhere-'));
  config = join(elsewhere, 'config');
  credentials = JSON.parse(readFileSync(qs.platform.credentialsPath, 'utf8')) as typeof credentials;
}, 180_000);
afterAll(async () => {
  await qs?.close();
  if (elsewhere) rmSync(elsewhere, { recursive: true, force: true });
});

describe('slate login', () => {
  it('refuses a wrong secret and saves nothing', async () => {
    const run = await slate(
      'not-the-secret\n',
      'login',
      '--api-server',
      qs.platform.apiServer,
      '--client-id',
      credentials.client_id,
    );
    expect(run.code).toBe(3);
    expect(existsSync(join(config, 'credentials.json'))).toBe(false);
  });

  it('saves checked credentials that every command then finds, and logout forgets them', async () => {
    const before = await slate(undefined, 'whoami');
    expect(before.code).toBe(3);
    expect(before.stderr).toContain('NO_CREDENTIALS');

    const login = await slate(
      `${credentials.client_secret}\n`,
      'login',
      '--api-server',
      qs.platform.apiServer,
      '--client-id',
      credentials.client_id,
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`✓ logged in to ${qs.platform.apiServer} as ${credentials.client_id}`);
    expect(login.stdout + login.stderr).not.toContain(credentials.client_secret);
    const path = join(config, 'credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(config).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      api_server: qs.platform.apiServer,
      client_id: credentials.client_id,
      client_secret: credentials.client_secret,
    });

    const whoami = await slate(undefined, 'whoami', '--json');
    expect(whoami.code, whoami.stderr).toBe(0);

    const logout = await slate(undefined, 'logout', '--forget-credentials');
    expect(logout.code).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect((await slate(undefined, 'whoami')).code).toBe(3);
  });
});
