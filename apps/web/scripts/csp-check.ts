/**
 * Checks that the built web UI works under the Content-Security-Policy the metadata plane sends:
 *
 *   npm run build --workspace @slate/web && node --import tsx apps/web/scripts/csp-check.ts [--chromium /usr/bin/chromium]
 *
 * Starts an embedded metadata plane (PGlite in memory) serving `apps/web/dist`, signs in with Chromium,
 * walks the pages (environments, an environment's deployments, catalog, schedules, tokens with a token
 * created, usage, audit log, a 404) and exits 1 on any CSP violation, page error or failed page. The same
 * check runs in `npm test` (e2e/web-csp.e2e.test.ts, through `runCspCheck`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createMetadataPlane } from '@slate/metadata-plane';
import { createLocalObjectStore } from '@slate/stores';
import { pino } from 'pino';
import { chromium } from 'playwright-core';

export interface CspCheckOptions {
  /** The built UI (default `apps/web/dist`). */
  readonly webRoot?: string;
  /** Chromium's executable (default `/usr/bin/chromium`). */
  readonly chromium?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface CspCheckReport {
  /** The security headers of `GET /login`, by lower-case name. */
  readonly headers: Readonly<Record<string, string>>;
  /** CSP violations, page errors, console errors, missing pages, a UI that loaded in a frame. */
  readonly problems: readonly string[];
}

/**
 * Serves `webRoot` from an embedded metadata plane and walks the UI in headless Chromium (see above).
 * Resolves with the headers and the problems found; throws only when the check itself cannot run.
 */
export async function runCspCheck(options: CspCheckOptions = {}): Promise<CspCheckReport> {
  const log = options.log ?? (() => {});
  const webRoot = options.webRoot ?? resolve(import.meta.dirname, '../dist');
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
    webRoot,
    logger: pino({ level: 'silent' }),
  });
  const problems: string[] = [];
  let headers: Record<string, string> = {};
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    const base = (await plane.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
    browser = await chromium.launch({
      executablePath: options.chromium ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    const context = await browser.newContext();
    // Report violations from inside the page: Chromium also logs them to the console, caught below. Page
    // code goes as text, so this file also type-checks without the DOM library (e2e/web-csp.e2e.test.ts).
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (event) => {
        console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + event.blockedURI);
      });`,
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      // The sign-in page's first `GET /v1/me` is answered 401 by design.
      if (message.type() === 'error' && !/status of 401/.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    headers = (await page.goto(`${base}/login`))?.headers() ?? {};
    log(`content-security-policy: ${headers['content-security-policy']}`);
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
      log(`${found ? 'ok  ' : 'MISS'} ${path}`);
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
    log('ok   created a token');
    // The UI must refuse to be framed.
    const framed = await context.newPage();
    await framed.setContent(`<iframe src="${base}/login"></iframe>`);
    await framed.waitForTimeout(500);
    const frame = framed.frames()[1];
    const frameLoaded = await frame
      ?.evaluate<boolean>("document.getElementById('root') !== null")
      .catch(() => false);
    log(`framed UI: ${frameLoaded ? 'LOADED' : `blocked (${frame?.url()})`}`);
    if (frameLoaded) problems.push('the UI loaded inside a frame');
  } finally {
    await browser?.close();
    await plane.close();
    await rm(objects, { recursive: true, force: true });
  }
  return { headers, problems };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: args } = parseArgs({
    options: { chromium: { type: 'string', default: '/usr/bin/chromium' } },
  });
  const report = await runCspCheck({ chromium: args.chromium, log: (line) => console.log(line) });
  if (report.problems.length > 0) {
    console.error(report.problems.join('\n'));
    process.exit(1);
  }
  console.log('the web UI works under its CSP');
}
