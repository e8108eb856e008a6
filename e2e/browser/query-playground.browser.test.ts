/**
 * The query playground and the catalog pages in Chromium (issue 15, items 2 and 3), against a real metadata
 * plane serving the built UI and a real data plane (offline queries on a log bus and the Parquet offline
 * store) with a deployed feature repository. The page signs in with the embedded email form; its queries
 * go through the API host with that session.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { createLogBus, createMemoryOnlineStore, createParquetOfflineStore } from '@slate/stores';
import { freePort, unlessCi } from '@slate/testing';
import { decompress } from 'fzstd';
import { parquetReadObjects } from 'hyparquet';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../forwarding/forwarding-repo.ts';
import { deployRepository } from '../support/in-process-planes.ts';
import { until } from '../support/index.ts';
import {
  type BrowserHarness,
  buildWebUi,
  chromiumUnavailable,
  DESKTOP,
  PHONE,
  signInWithEmail,
  startBrowserHarness,
  startUiPlane,
  teamSeed,
  type UiPlane,
  VIEWPORTS,
  type Viewport,
} from './support/index.ts';

const OWNER = 'owner@acme.test';

const chromiumMissing = unlessCi(chromiumUnavailable());

describe.skipIf(chromiumMissing !== undefined)('the query playground in Chromium', () => {
  let work: string;
  let harness: BrowserHarness;
  let ui: UiPlane;
  let dataPlane: DataPlane;
  let closeStores: () => Promise<void>;
  let api: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-playground-'));
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    ui = await startUiPlane({
      mode: 'embedded',
      webRoot,
      objectsRoot: join(work, 'objects'),
      seed: teamSeed({
        project: { id: 'web', name: 'Web' },
        environment: { id: 'dev', name: 'Dev' },
        invite: { email: OWNER, role: 'owner' },
      }),
    });
    api = ui.url;
    const objectStore = ui.objectStore;
    const plane = ui.plane;
    const onlineStore = createMemoryOnlineStore();
    await onlineStore.init();
    const offlineStore = createParquetOfflineStore({ objectStore, threads: 1 });
    await offlineStore.init();
    const bus = createLogBus({ root: join(work, 'bus'), sync: false });
    await bus.init();
    closeStores = async () => {
      await offlineStore.close();
      await bus.close();
    };
    const dpPort = await freePort();
    dataPlane = createDataPlane({
      name: 'east',
      publicUrl: `http://127.0.0.1:${dpPort}`,
      metadataPlaneUrl: api,
      registrationToken: ui.registrationToken,
      objectStore,
      onlineStore,
      offline: { bus, offlineStore },
      stateDir: join(work, 'dp'),
      workers: 1,
      logger: pino({ level: 'silent' }),
    });
    await dataPlane.start({ port: dpPort });
    await dataPlane.ready();

    // Deploy as the CLI does (a service token), then wait until the data plane answers for it.
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'deploy',
      permissions: ['deploy.create', 'deploy.read', 'query.online'],
    });
    const exchanged = await fetch(`${api}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.clientId,
        client_secret: created.clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    const token = ((await exchanged.json()) as { access_token: string }).access_token;
    const deployed = await deployRepository(
      api,
      token,
      new URL('../forwarding/forwarding-repo.ts', import.meta.url),
      repo,
    );
    expect(deployed.status).toBe(201);
    await until(
      async () => {
        const res = await fetch(`${api}/v1/query/online`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: { 'account.id': 1 }, outputs: ['account.doubled'] }),
        });
        return res.status === 200 && JSON.stringify(await res.json()).includes('"value":2')
          ? true
          : undefined;
      },
      'the deployment answering through the API host',
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    harness = await startBrowserHarness('playground');
  }, 240_000);

  afterAll(async () => {
    await harness?.close();
    await dataPlane?.close();
    await closeStores?.();
    await ui?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A signed-in browser at desktop or phone size. */
  async function signedIn(viewport: Viewport = DESKTOP) {
    const opened = await harness.open({ viewport, acceptDownloads: true });
    await signInWithEmail(opened.page, api, OWNER);
    await opened.page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    return opened;
  }

  const shoot = (page: Page, name: string) => harness.shoot(page, name);

  it('runs an online query: completed output, typed input, the value the resolver computes', async () => {
    for (const [viewport, size] of VIEWPORTS) {
      const { context, page } = await signedIn(viewport);
      // From the environment's page, as a person gets there.
      await page.goto(`${api}/environments/dev`);
      await page.getByRole('link', { name: 'Query', exact: true }).click();
      await page.getByRole('heading', { name: 'Query', level: 1 }).waitFor();
      const outputs = page.getByRole('combobox', { name: 'Outputs' });
      await outputs.fill('account.doubled');
      await outputs.press('Enter');
      await outputs.fill('account.note');
      await outputs.press('Enter');
      // The outputs' primary key appears as a typed input; a non-integer is refused before sending.
      const id = page.getByRole('textbox', { name: 'Input account.id' });
      await id.fill('twenty');
      await page.getByText('“twenty” is not a whole number').waitFor();
      expect(await page.getByRole('button', { name: 'Run query' }).isDisabled()).toBe(true);
      await id.fill('21');
      await page.getByRole('button', { name: 'Run query' }).click();
      const doubled = page.locator('tr[data-feature="account.doubled"] .query-value');
      await doubled.waitFor();
      // The repository's resolver doubles the id; `note` is `computed-<id>`.
      expect(await doubled.textContent()).toBe(String(21 * 2));
      expect(await page.locator('tr[data-feature="account.note"] .query-value').textContent()).toBe(
        'computed-21',
      );
      await page.getByRole('region', { name: 'Meta' }).waitFor();
      await shoot(page, `online-${size}`);
      await context.close();
    }
    expect(harness.pageErrors).toEqual([]);
  }, 240_000);

  it('shows the engine’s error on the row of an output the deployment does not define', async () => {
    const { context, page } = await signedIn();
    await page.goto(`${api}/environments/dev/query?output=account.doubled`);
    await page.getByRole('textbox', { name: 'Input account.id' }).fill('3');
    const outputs = page.getByRole('combobox', { name: 'Outputs' });
    await outputs.fill('account.nope');
    await page.getByText('Not in this deployment’s catalog').waitFor();
    await outputs.press('Enter');
    await page.getByRole('button', { name: 'Run query' }).click();
    // The engine refuses the unknown name in its `errors` (category REQUEST, naming the feature): the page
    // shows it on that output's row.
    const error = page.locator('tr[data-feature="account.nope"] .cell-error');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.textContent()).toMatch(/account\.nope/);
    await shoot(page, 'online-error-desktop');
    await context.close();
  }, 120_000);

  it('runs an offline query from a pasted table: progress, preview, and the Parquet download', async () => {
    const { context, page } = await signedIn();
    await page.goto(`${api}/environments/dev/query?mode=offline&output=account.doubled`);
    await page.getByRole('textbox', { name: 'Input rows' }).fill('account.id\n1\n2\n3');
    await page.getByText('3 rows × 1 column').waitFor();
    await page.getByRole('button', { name: 'Run offline query' }).click();
    const download = page.getByRole('link', { name: 'Download Parquet' });
    await download.waitFor({ timeout: 90_000 });
    await page.getByRole('region', { name: 'Preview' }).getByRole('table').waitFor();
    await shoot(page, 'offline-desktop');
    const table = page.getByRole('region', { name: 'Preview' }).getByRole('table');
    const headers = await table.locator('th').allTextContents();
    const cells = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    const [idAt, doubledAt] = [headers.indexOf('account.id'), headers.indexOf('account.doubled')];
    expect(cells.map((row) => [row[idAt], row[doubledAt]]).sort()).toEqual([
      ['1', '2'],
      ['2', '4'],
      ['3', '6'],
    ]);

    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const path = join(work, 'download.parquet');
    await file.saveAs(path);
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      compressors: { ZSTD: (input: Uint8Array) => decompress(input) },
    });
    const byId = new Map(rows.map((r) => [Number(r['account.id']), Number(r['account.doubled'])]));
    expect([...byId.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [1, 2],
      [2, 4],
      [3, 6],
    ]);
    await context.close();

    const phone = await signedIn(PHONE);
    await phone.page.goto(`${api}/environments/dev/query?mode=offline&output=account.doubled`);
    await phone.page.getByRole('textbox', { name: 'Input rows' }).fill('account.id\n5');
    await phone.page.getByRole('button', { name: 'Run offline query' }).click();
    await phone.page.getByRole('link', { name: 'Download Parquet' }).waitFor({ timeout: 90_000 });
    await phone.page.getByRole('region', { name: 'Preview' }).getByRole('table').waitFor();
    await shoot(phone.page, 'offline-phone');
    await phone.context.close();
  }, 240_000);

  it('links catalog rows to feature and resolver pages with their lineage', async () => {
    for (const [viewport, size] of VIEWPORTS) {
      const { context, page } = await signedIn(viewport);
      await page.goto(`${api}/environments/dev/catalog`);
      // The feature `account.doubled` (its row in the namespace's table; the resolver is also `doubled`).
      await page
        .getByRole('region', { name: 'Namespace account' })
        .getByRole('link', { name: 'doubled', exact: true })
        .click();
      await page.getByRole('heading', { name: 'account.doubled', level: 1 }).waitFor();
      const lineage = page.getByRole('img', { name: /^Lineage:/ });
      await lineage.waitFor();
      expect(await lineage.getAttribute('aria-label')).toBe('Lineage: account.id, doubled, account.doubled');
      await page.getByRole('region', { name: 'Versions' }).getByText('added').waitFor();
      await shoot(page, `feature-${size}`);
      // The resolver box in the drawing leads to the resolver's page.
      await page
        .getByRole('region', { name: 'Definition' })
        .getByRole('link', { name: 'doubled', exact: true })
        .click();
      await page.getByRole('heading', { name: 'doubled', level: 1 }).waitFor();
      await page.getByRole('region', { name: 'Definition' }).getByText('online').first().waitFor();
      await shoot(page, `resolver-${size}`);
      await page.goto(`${api}/environments/dev/catalog`);
      await page.getByRole('region', { name: 'Resolvers' }).waitFor();
      await shoot(page, `catalog-${size}`);
      await context.close();
    }
    expect(harness.pageErrors).toEqual([]);
  }, 240_000);
});
