/**
 * The environment's serving charts in Chromium (issue 15 item 4, issue 17 item 1): a real metadata plane
 * serving the built UI and a real data plane reporting its per-minute rollups; the test runs online queries
 * through the API host, waits for the data plane to report the finished minute, and reads the charts'
 * figures in the page at desktop and phone width.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDataPlane, type DataPlane } from '@slate/data-plane';
import { createMetadataPlane, type MetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore, createMemoryOnlineStore } from '@slate/stores';
import { freePort, unlessCi } from '@slate/testing';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../forwarding/forwarding-repo.ts';
import { deployRepository } from '../support/in-process-planes.ts';
import { until } from '../support/index.ts';
import { buildWebUi } from './support/build-web-ui.ts';
import { chromiumUnavailable, launchChromium } from './support/chromium.ts';

const SCREENSHOTS = resolve(import.meta.dirname, '../../apps/web/screenshots/serving');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const REGISTRATION = 'serving-browser-registration-token';
const OWNER = 'owner@acme.test';
/** Queries the test runs: named `checkout`, and ad-hoc ones (`Unnamed`). */
const NAMED = 7;
const UNNAMED = 3;

const chromiumMissing = unlessCi(chromiumUnavailable());

describe.skipIf(chromiumMissing !== undefined)('serving charts in Chromium', () => {
  let work: string;
  let browser: Browser;
  let plane: MetadataPlane;
  let dataPlane: DataPlane;
  let api: string;
  let token: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-serving-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    const [mpPort, dpPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${mpPort}`;
    const objectStore = createLocalObjectStore({ root: join(work, 'objects') });
    await objectStore.init();
    plane = await createMetadataPlane({
      mode: 'embedded',
      database: { type: 'pglite' },
      objectStore,
      apiServer: api,
      registrationToken: REGISTRATION,
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
        environments: [{ id: 'dev', name: 'Dev', project_id: 'web', team_id: 'acme' }],
        team_invites: [{ id: 'invite-1', team: 'acme', email: OWNER, role: 'owner' }],
      },
      webRoot,
      scheduler: { enabled: false },
      logger: pino({ level: 'silent' }),
    });
    await plane.listen({ host: '127.0.0.1', port: mpPort });
    const onlineStore = createMemoryOnlineStore();
    await onlineStore.init();
    dataPlane = createDataPlane({
      name: 'east',
      publicUrl: `http://127.0.0.1:${dpPort}`,
      metadataPlaneUrl: api,
      registrationToken: REGISTRATION,
      objectStore,
      onlineStore,
      stateDir: join(work, 'dp'),
      workers: 1,
      metricReportIntervalMs: 500,
      logger: pino({ level: 'silent' }),
    });
    await dataPlane.start({ port: dpPort });
    await dataPlane.ready();
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'deploy',
      permissions: ['deploy.create', 'deploy.read', 'query.online', 'monitoring.read'],
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
    token = ((await exchanged.json()) as { access_token: string }).access_token;
    const deployed = await deployRepository(
      api,
      token,
      new URL('../forwarding/forwarding-repo.ts', import.meta.url),
      repo,
    );
    expect(deployed.status).toBe(201);
    await until(
      async () => ((await query(1)).status === 200 ? true : undefined),
      'the deployment answering through the API host',
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dataPlane?.close();
    await plane?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const query = (id: number, queryName?: string) =>
    fetch(`${api}/v1/query/online`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: { 'account.id': id },
        outputs: ['account.doubled'],
        ...(queryName ? { query_name: queryName } : {}),
      }),
    });

  /** Queries answered, as the metadata plane stores them, by query name. */
  async function storedCounts(): Promise<Map<string, number>> {
    const to = new Date();
    const from = new Date(to.getTime() - 3_600_000);
    const res = await fetch(
      `${api}/v1/environments/dev/metrics/series?metric=query_count&window=1h&group_by=name&from=${from.toISOString()}&to=${to.toISOString()}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    const body = (await res.json()) as { series: { name: string; values: (number | null)[] }[] };
    return new Map(body.series.map((s) => [s.name, s.values.reduce<number>((a, v) => a + (v ?? 0), 0)]));
  }

  async function signedIn(viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport,
      ...(viewport === PHONE ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
    });
    await context.route(
      (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
      (route) => route.abort(),
    );
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`${api}/`);
    await page.getByRole('textbox', { name: 'Email' }).fill(OWNER);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
    return { context, page };
  }

  it('charts the queries it ran, by query name, with the data plane and its health', async () => {
    const before = await storedCounts();
    for (let i = 0; i < NAMED; i++) expect((await query(i + 2, 'checkout')).status).toBe(200);
    for (let i = 0; i < UNNAMED; i++) expect((await query(i + 2)).status).toBe(200);
    // The data plane reports a minute once it is over (and every 500 ms here).
    const expectedCheckout = (before.get('checkout') ?? 0) + NAMED;
    const counts = await until(
      async () => {
        const c = await storedCounts();
        return (c.get('checkout') ?? 0) >= expectedCheckout ? c : undefined;
      },
      'the finished minute reported',
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(counts.get('checkout')).toBe(expectedCheckout);
    const all = [...counts.values()].reduce((a, b) => a + b, 0);

    for (const [viewport, size] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const { context, page } = await signedIn(viewport);
      await page.goto(`${api}/environments/dev`);
      await page.getByRole('link', { name: 'Serving', exact: true }).click();
      const summary = page.getByTestId('serving-summary');
      await summary.waitFor();
      expect(await summary.textContent()).toContain(`${all.toLocaleString('en-US')} queries (all queries)`);
      // Filtered by query name: only the `checkout` queries.
      await page.getByRole('combobox', { name: 'Query name' }).selectOption('checkout');
      await page.getByText(`${expectedCheckout} queries (query checkout)`).waitFor();
      const qps = page.getByRole('img', { name: /^Queries per second, query checkout/ });
      expect(await qps.getAttribute('aria-label')).toContain(`${expectedCheckout} queries`);
      // Four charts drawn by uPlot, each a canvas.
      expect(await page.locator('.serving-grid canvas').count()).toBeGreaterThanOrEqual(4);
      // The data plane serving the environment, healthy.
      const planes = page.getByRole('region', { name: 'Data planes' });
      await planes.getByText('east').waitFor();
      expect(await planes.getByText('Healthy').count()).toBeGreaterThanOrEqual(1);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(SCREENSHOTS, `serving-${size}.png`), fullPage: true });
      await context.close();
    }
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
