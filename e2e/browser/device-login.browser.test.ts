/**
 * `slate login` through a real browser: the CLI (in this process) starts the OAuth device grant and "opens"
 * the approval link in Chromium, where the user signs in with the embedded sign-in, lands back on `/device`
 * with the code filled in, checks it, picks the environment and approves; the CLI's polling then receives
 * credentials, saved 0600, that a token exchange accepts. Then the same with Deny: the CLI exits 3.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliContext, runCli } from '@slate/cli';
import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore } from '@slate/stores';
import { freePort, unlessCi } from '@slate/testing';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebUi } from './support/build-web-ui.ts';
import { chromiumUnavailable, launchChromium } from './support/chromium.ts';

const chromiumMissing = unlessCi(chromiumUnavailable());

describe.skipIf(chromiumMissing !== undefined)('slate login in Chromium (device code)', () => {
  let work: string;
  let browser: Browser;
  let plane: MetadataPlane;
  let url: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-device-browser-'));
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const objectStore = createLocalObjectStore({ root: join(work, 'objects') });
    await objectStore.init();
    plane = await createMetadataPlane({
      mode: 'embedded',
      database: { type: 'pglite' },
      objectStore,
      apiServer: url,
      registrationToken: 'device-browser-registration-token',
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'fraud', name: 'Fraud', team_id: 'acme' }],
        environments: [{ id: 'dev', name: 'Dev', project_id: 'fraud', team_id: 'acme' }],
        team_invites: [{ id: 'invite-1', team: 'acme', email: 'owner@acme.test', role: 'owner' }],
      },
      webRoot,
      scheduler: { enabled: false },
      oidcProviders: [],
      logger: pino({ level: 'silent' }),
    });
    await plane.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await plane?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs `slate login`, whose browser is a fresh Chromium page; resolves the page once it opened the link. */
  function login(config: string) {
    let stderr = '';
    let opened!: (page: Page) => void;
    const page = new Promise<Page>((resolve) => {
      opened = resolve;
    });
    const context: CliContext = {
      cwd: work,
      env: { SLATE_CONFIG_DIR: config },
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
      openUrl: async (link) => {
        const browserContext = await browser.newContext();
        const tab = await browserContext.newPage();
        await tab.goto(link);
        opened(tab);
        return true;
      },
    };
    const exit = runCli(['node', 'slate', 'login', '--api-server', url], context).then((code) => ({
      code,
      stderr,
    }));
    return { page, exit };
  }

  async function signInAndCheckCode(page: Page): Promise<void> {
    await page.getByRole('textbox', { name: 'Email' }).fill('owner@acme.test');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Log in a terminal' }).waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).pathname).toBe('/device');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText(/asks to act as you/).waitFor({ timeout: 60_000 });
  }

  it('approves the code in the browser; the CLI saves credentials that work', async () => {
    const config = join(work, 'approved');
    const run = login(config);
    const page = await run.page;
    await signInAndCheckCode(page);
    const onPage = await page.locator('code.strong').textContent();
    await page.getByRole('combobox').selectOption('dev');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(/Approved\. Go back to your terminal/).waitFor({ timeout: 60_000 });
    const { code, stderr } = await run.exit;
    expect(code, stderr).toBe(0);
    // The code the page asked about is the one the terminal printed.
    const userCode = /check the code there is ([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1];
    expect(userCode).toBeDefined();
    expect(onPage).toBe(userCode);
    const path = join(config, 'credentials.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { client_id: string; client_secret: string };
    const exchanged = await fetch(`${url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...saved, grant_type: 'client_credentials' }),
    });
    expect(exchanged.status).toBe(200);
    expect(((await exchanged.json()) as { primary_environment: string }).primary_environment).toBe('dev');
    await page.context().close();
  }, 240_000);

  it('denies the code in the browser; the CLI exits 3', async () => {
    const run = login(join(work, 'denied'));
    const page = await run.page;
    await signInAndCheckCode(page);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByText(/Denied\./).waitFor({ timeout: 60_000 });
    const { code, stderr } = await run.exit;
    expect(code).toBe(3);
    expect(stderr).toContain('error[LOGIN_DENIED]');
    await page.context().close();
  }, 240_000);
});
