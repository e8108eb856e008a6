/**
 * `slate login` through the browser (the OAuth 2.0 device grant, RFC 8628) against the real platform in
 * this process: the CLI prints a URL and a code and polls; a signed-in user (a real session cookie from
 * the embedded sign-in, CSRF header as the web app sends it) approves the code for the environment; the
 * CLI then saves working credentials (0600) that `slate whoami` uses. A denied login exits 3 and saves
 * nothing; the grant's errors (slow_down, a used or unknown device code) are checked on the wire.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../cli-context.ts';
import { runCli } from '../main.ts';
import { type QuickstartPlatform, startQuickstartPlatform } from './fixtures/quickstart-platform.ts';

let qs: QuickstartPlatform;
let home: string;

beforeAll(async () => {
  qs = await startQuickstartPlatform('slate-device-login-', { deploy: false });
  home = mkdtempSync(join(tmpdir(), 'slate-device-home-'));
}, 420_000);
afterAll(async () => {
  await qs?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs `slate <args>` with only a config folder; resolves `code` once the CLI has printed its user code. */
function startSlate(config: string, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  let shown!: (code: string) => void;
  const code = new Promise<string>((resolve) => {
    shown = resolve;
  });
  const context: CliContext = {
    cwd: home,
    env: { SLATE_CONFIG_DIR: config },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
      const match = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stderr);
      if (match) shown(match[1]!);
    },
  };
  const exit = runCli(['node', 'slate', ...args], context).then((exitCode) => ({
    exitCode,
    stdout,
    stderr,
  }));
  return { code, exit };
}

/** A signed-in browser session of the seed's owner (the embedded sign-in), as cookie header. */
async function signIn(): Promise<string> {
  const response = await fetch(`${qs.platform.apiServer}/v1/auth/local-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: qs.platform.ownerEmail }),
  });
  expect(response.status).toBe(200);
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
}

async function decide(cookie: string, userCode: string, approve: boolean) {
  return fetch(`${qs.platform.apiServer}/v1/oauth/device/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-slate-csrf': '1' },
    body: JSON.stringify({ user_code: userCode, environment_id: qs.platform.environment, approve }),
  });
}

describe('slate login (browser, device code)', () => {
  it('saves working credentials once a signed-in user approves the code', { timeout: 120_000 }, async () => {
    const config = join(home, 'approved');
    const login = startSlate(config, 'login', '--api-server', qs.platform.apiServer, '--no-browser');
    const userCode = await login.code;
    const cookie = await signIn();
    // The approval page shows which device asks (a lower-case code with no dash is the same code).
    const pending = await fetch(
      `${qs.platform.apiServer}/v1/oauth/device?user_code=${userCode.toLowerCase().replace('-', '')}`,
      { headers: { cookie } },
    );
    expect(pending.status).toBe(200);
    expect(((await pending.json()) as { client_name: string }).client_name).toMatch(/^slate CLI on /);
    // Without the CSRF header a cookie-authenticated decision is refused.
    const forged = await fetch(`${qs.platform.apiServer}/v1/oauth/device/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ user_code: userCode, environment_id: qs.platform.environment, approve: true }),
    });
    expect(forged.status).toBe(403);
    const approved = await decide(cookie, userCode, true);
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as { permissions: string[] }).permissions).toContain('query.online');

    const { exitCode, stdout, stderr } = await login.exit;
    expect(stderr).toContain(`${qs.platform.apiServer}/device`);
    expect(exitCode, stderr).toBe(0);
    expect(stdout).toContain(`✓ logged in to ${qs.platform.apiServer}`);
    const path = join(config, 'credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    expect(saved).toMatchObject({ api_server: qs.platform.apiServer, environment: qs.platform.environment });
    expect(saved.client_secret).toMatch(/^ts-/);
    expect(stdout + stderr).not.toContain(saved.client_secret);

    const whoami = startSlate(config, 'whoami', '--json');
    const me = await whoami.exit;
    expect(me.exitCode, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ environment_id: qs.platform.environment });

    // A code is used once: approving it again finds nothing.
    expect((await decide(cookie, userCode, true)).status).toBe(404);
  });

  it('exits 3 and saves nothing when the login is denied', { timeout: 120_000 }, async () => {
    const config = join(home, 'denied');
    const login = startSlate(config, 'login', '--api-server', qs.platform.apiServer, '--no-browser');
    const cookie = await signIn();
    expect((await decide(cookie, await login.code, false)).status).toBe(200);
    const { exitCode, stderr } = await login.exit;
    expect(exitCode).toBe(3);
    expect(stderr).toContain('error[LOGIN_DENIED]');
    expect(existsSync(join(config, 'credentials.json'))).toBe(false);
  });

  it('answers polls per RFC 8628: pending, slow_down, then an unknown code', async () => {
    const api = qs.platform.apiServer;
    const started = (await (
      await fetch(`${api}/v1/oauth/device/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'test' }),
      })
    ).json()) as { device_code: string; user_code: string; expires_in: number; interval: number };
    expect(started).toMatchObject({ expires_in: 600, interval: 5 });
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    const poll = async (deviceCode: string) => {
      const response = await fetch(`${api}/v1/oauth/device/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: deviceCode,
        }).toString(),
      });
      return { status: response.status, code: ((await response.json()) as { code: string }).code };
    };
    expect(await poll(started.device_code)).toEqual({ status: 400, code: 'AUTHORIZATION_PENDING' });
    // At once again: faster than the interval.
    expect(await poll(started.device_code)).toEqual({ status: 400, code: 'SLOW_DOWN' });
    expect(await poll(`${started.device_code}x`)).toEqual({ status: 400, code: 'INVALID_GRANT' });
  });
});
