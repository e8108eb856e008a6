/**
 * The UI against a real `slate up` (the CLI process: both planes, the quickstart deployed, the freshly built
 * UI served): a deploy made with `slate apply` appears on the open deployments page without a reload, and
 * the playground's offline query from an uploaded CSV (downloaded as CSV) and from a spine SQL over the
 * example's app database.
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, unlessCi } from '@slate/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../examples/quickstart/src/sample-data.ts';
import {
  createProcessGroup,
  type ProcessGroup,
  repoRoot,
  runCli,
  type StartedProcess,
  startSlateUp,
} from '../support/index.ts';
import {
  apiAsSession,
  type BrowserHarness,
  buildWebUi,
  chromiumUnavailable,
  DESKTOP,
  PHONE,
  sessionCookie,
  signInWithEmail,
  startBrowserHarness,
  type Viewport,
} from './support/index.ts';

/** The owner the quickstart's seed invites. */
const OWNER = 'owner@example.com';
/** The plans table of examples/quickstart/data/app_db.sql: user id → plan (users 1, 2, 3 and 5 have one). */
const PLAN_USER_IDS = [1, 2, 3, 5];

const chromiumMissing = unlessCi(chromiumUnavailable());

describe.skipIf(chromiumMissing !== undefined)('the UI on slate up, in Chromium', () => {
  let work: string;
  let project: string;
  let stateDir: string;
  let group: ProcessGroup;
  let up: StartedProcess;
  let app: string;
  let harness: BrowserHarness;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-browser-up-'));
    project = join(work, 'quickstart');
    stateDir = join(work, 'state');
    cpSync(join(repoRoot, 'examples/quickstart'), project, {
      recursive: true,
      filter: (source) => !source.includes('node_modules'),
    });
    // The copy resolves @slate/sdk from the repository, as an installed project would from its own node_modules.
    symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    const port = await freePort();
    app = `http://127.0.0.1:${port}`;
    group = createProcessGroup({
      cwd: work,
      env: { ...process.env, FORCE_COLOR: '0' } as Record<string, string>,
    });
    up = await startSlateUp(group, {
      project,
      stateDir,
      port,
      dataPlanePort: await freePort(),
      webRoot,
      timeoutMs: 600_000,
    });
    harness = await startBrowserHarness('slate-up');
  }, 900_000);

  afterAll(async () => {
    await harness?.close();
    if (up) await group.stop(up, 'SIGINT');
    await group?.stopAll();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function signedIn(at: string, viewport: Viewport = DESKTOP) {
    const opened = await harness.open({ viewport, acceptDownloads: true });
    await signInWithEmail(opened.page, app, OWNER, at);
    return opened;
  }

  const shoot = (page: Page, name: string) => harness.shoot(page, name);

  it('shows a deploy made with slate apply on the open deployments page, without a reload', async () => {
    const { context, page } = await signedIn('/environments/dev');
    await page.getByRole('heading', { name: 'Development', level: 1 }).waitFor();
    const rows = page.getByRole('region', { name: 'Deployment history' }).locator('tbody tr');
    await rows.first().waitFor();
    const before = await rows.count();
    // A mark in the page's own state: a reload would lose it.
    await page.evaluate('window.__slateNoReload = true');

    const resolvers = join(project, 'src/resolvers.ts');
    writeFileSync(
      resolvers,
      readFileSync(resolvers, 'utf8').replace('.toLowerCase() })', '.toUpperCase() })'),
    );
    const credentials = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8'));
    await runCli(['apply', '--dir', project, '--no-typecheck'], {
      cwd: work,
      env: {
        ...(process.env as Record<string, string>),
        SLATE_API_SERVER: app,
        SLATE_CLIENT_ID: credentials.client_id,
        SLATE_CLIENT_SECRET: credentials.client_secret,
      },
    });
    const owner = await sessionCookie(app, OWNER);
    const list = await apiAsSession(app, 'GET', '/v1/deployments?environment_id=dev', owner);
    const newest = (list.json.items as { id: string; status: string }[])[0]!;
    expect(newest.status).toBe('SUCCESS');

    await expect.poll(() => rows.count(), { timeout: 120_000, interval: 1_000 }).toBe(before + 1);
    // The page now says it serves the new deployment (its subtitle), and it never reloaded.
    await page.getByRole('region', { name: 'Deployment history' }).getByText('Success').first().waitFor();
    expect(await page.evaluate('window.__slateNoReload === true')).toBe(true);
    await shoot(page, 'deploy-live-desktop');
    await context.close();
  }, 300_000);

  it('runs an offline query from an uploaded CSV and downloads the result as CSV', async () => {
    const { context, page } = await signedIn('/environments/dev/query?mode=offline&output=user.name');
    await page.getByRole('heading', { name: 'Query', level: 1 }).waitFor();
    await page.locator('input[type="file"]').setInputFiles({
      name: 'users.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('user.id\n1\n4\n'),
    });
    await page.getByText('2 rows × 1 column').waitFor();
    await page.getByRole('button', { name: 'Run offline query' }).click();
    const csvButton = page.getByRole('button', { name: 'Download CSV' });
    await csvButton.waitFor({ timeout: 120_000 });
    await page.getByRole('region', { name: 'Preview' }).getByRole('table').waitFor();
    await shoot(page, 'offline-upload-desktop');

    const [download] = await Promise.all([page.waitForEvent('download'), csvButton.click()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const path = join(work, 'result.csv');
    await download.saveAs(path);
    const [header, ...lines] = (await readFile(path, 'utf8')).trimEnd().split('\r\n');
    const columns = header!.split(',');
    const [idAt, nameAt] = [columns.indexOf('user.id'), columns.indexOf('user.name')];
    expect(idAt).toBeGreaterThanOrEqual(0);
    expect(nameAt).toBeGreaterThanOrEqual(0);
    const got = lines.map((line) => line.split(',')).map((cells) => [Number(cells[idAt]), cells[nameAt]]);
    expect(got.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      [1, 4].map((id) => [id, users.find((u) => u.id === id)!.name]),
    );
    await context.close();
  }, 300_000);

  it('runs an offline query whose rows come from a spine SQL over the app database', async () => {
    for (const [viewport, size] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const { context, page } = await signedIn(
        '/environments/dev/query?mode=offline&output=user.name',
        viewport,
      );
      await page.getByRole('heading', { name: 'Query', level: 1 }).waitFor();
      await page.getByText('Spine SQL', { exact: true }).click();
      await page
        .getByRole('textbox', { name: 'Spine SQL' })
        .fill('select user_id as id from plans order by user_id');
      await page.getByRole('button', { name: 'Run offline query' }).click();
      const table = page.getByRole('region', { name: 'Preview' }).getByRole('table');
      await table.waitFor({ timeout: 120_000 });
      const headers = await table.locator('th').allTextContents();
      const cells = await table
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
        );
      const [idAt, nameAt] = [headers.indexOf('user.id'), headers.indexOf('user.name')];
      expect(
        cells.map((row) => [Number(row[idAt]), row[nameAt]]).sort((a, b) => Number(a[0]) - Number(b[0])),
      ).toEqual(PLAN_USER_IDS.map((id) => [id, users.find((u) => u.id === id)!.name]));
      await shoot(page, `offline-spine-sql-${size}`);
      await context.close();
    }
  }, 300_000);

  it('raised no uncaught error in any page', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
