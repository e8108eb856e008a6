/**
 * Checks that the built web UI works under the Content-Security-Policy the metadata plane sends:
 *
 *   npm run build --workspace @slate/web && node --import tsx apps/web/scripts/csp-check.ts [--chromium /usr/bin/chromium]
 *
 * Starts an embedded metadata plane (PGlite in memory) serving `apps/web/dist`, signs in with Chromium,
 * walks the pages (environments, an environment's deployments, catalog, schedules, tokens with a token
 * created, usage, audit log, a 404) and exits 1 on any CSP violation, page error or failed page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createMetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore } from '@slate/stores';
import { pino } from 'pino';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: { chromium: { type: 'string', default: '/usr/bin/chromium' } },
});

const objects = await mkdtemp(join(tmpdir(), 'slate-csp-'));
const objectStore = createLocalObjectStore({ root: objects });
await objectStore.init();
const plane = await createMetadataPlane({
  mode: 'embedded',
  database: { type: 'pglite' },
  objectStore,
  apiServer: 'http://127.0.0.1/',
  registrationToken: 'csp-check-registration-token',
  seed: {
    teams: [{ id: 'acme', name: 'Acme' }],
    projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
    environments: [{ id: 'dev', name: 'Dev', project_id: 'web', team_id: 'acme' }],
    team_invites: [{ id: 'i1', team: 'acme', email: 'alice@acme.test', role: 'admin' }],
  },
  webRoot: resolve(import.meta.dirname, '../dist'),
  logger: pino({ level: 'silent' }),
});
const base = (await plane.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
const problems: string[] = [];
const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const context = await browser.newContext();
  // Report violations from inside the page: Chromium also logs them to the console, caught below.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    // The sign-in page's first `GET /v1/me` is answered 401 by design.
    if (message.type() === 'error' && !/status of 401/.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const csp = (await page.goto(`${base}/login`))?.headers()['content-security-policy'];
  console.log(`content-security-policy: ${csp}`);
  await page.getByLabel('Email').fill('alice@acme.test');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
  const visits: [string, string | RegExp][] = [
    ['/environments/dev', 'Dev'],
    ['/environments/dev/catalog', 'Dev'],
    ['/environments/dev/schedules', 'Dev'],
    ['/environments/dev/tokens', 'Service tokens'],
    ['/audit-log', 'Audit log'],
  ];
  for (const [path, heading] of visits) {
    await page.goto(base + path);
    await page.waitForLoadState('networkidle');
    const found = await page.getByRole('heading', { name: heading }).first().isVisible();
    console.log(`${found ? 'ok  ' : 'MISS'} ${path}`);
    if (!found) {
      const headings = await page.getByRole('heading').allTextContents();
      problems.push(`no heading ${heading} on ${path} (headings: ${headings.join(' | ')})`);
    }
  }
  await page.goto(`${base}/environments/dev/tokens`);
  await page.waitForLoadState('networkidle');
  await page.getByRole('button', { name: 'New token' }).click();
  await page.getByRole('textbox', { name: 'Name' }).fill('csp-check');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('You won’t see it again').waitFor();
  console.log('ok   created a token');
  // The UI must refuse to be framed.
  const framed = await context.newPage();
  await framed.setContent(`<iframe src="${base}/login"></iframe>`);
  await framed.waitForTimeout(500);
  const frame = framed.frames()[1];
  const frameLoaded = await frame
    ?.evaluate(() => document.getElementById('root') !== null)
    .catch(() => false);
  console.log(`framed UI: ${frameLoaded ? 'LOADED' : `blocked (${frame?.url()})`}`);
  if (frameLoaded) problems.push('the UI loaded inside a frame');
} finally {
  await browser.close();
  await plane.close();
  await rm(objects, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('the web UI works under its CSP');
