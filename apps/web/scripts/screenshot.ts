/**
 * Screenshots of every page, for reviewing the UI without a desktop:
 *
 *   node --import tsx apps/web/scripts/screenshot.ts [--url http://127.0.0.1:4173] [--out apps/web/screenshots]
 *     [--email owner@example.com] [--chromium /usr/bin/chromium]
 *
 * Point `--url` at `slate up` (it serves the built app; the examples' seed invites owner@example.com) or at
 * `vite preview`, which proxies /v1 to it. Signs in, walks the pages, and writes one PNG per page at desktop
 * width plus a few at phone width. Needs Debian's chromium (`apt-get install -y chromium`).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:4173' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../screenshots') },
    email: { type: 'string', default: 'owner@example.com' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

const base = args.url.replace(/\/$/, '');
const shots: string[] = [];

/** `fullPage: false` keeps only the first screenful, for pages whose tables run long. */
async function shot(
  page: Page,
  name: string,
  { fullPage = true }: { fullPage?: boolean } = {},
): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(250); // let charts finish their first paint
  const file = join(args.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  shots.push(file);
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(args.email);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
}

async function desktop(browser: Browser): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));

  await page.goto(`${base}/login`);
  await page.getByLabel('Email').waitFor();
  await shot(page, '01-login');

  await signIn(page);
  await shot(page, '02-environments');

  const envLink = page.locator('a.strong-link').first();
  const envHref = await envLink.getAttribute('href');
  if (!envHref) throw new Error('no environment on the overview page');
  await page.goto(base + envHref);
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await shot(page, '03-environment-deployments');
  await shot(page, '03-environment-deployments-top', { fullPage: false });

  const rollback = page.getByRole('button', { name: 'Roll back to this' }).first();
  if (await rollback.count()) {
    await rollback.click();
    await page.getByRole('dialog').waitFor();
    await page.screenshot({ path: join(args.out, '04-rollback-confirm.png') });
    shots.push(join(args.out, '04-rollback-confirm.png'));
    await page.getByRole('button', { name: 'Cancel' }).click();
  }

  await page.goto(`${base + envHref}/catalog`);
  await page.getByPlaceholder(/Filter by name/).waitFor();
  await shot(page, '05-environment-catalog');
  await page.getByPlaceholder(/Filter by name/).fill('fraud');
  await shot(page, '05-environment-catalog-filtered', { fullPage: false });

  await page.goto(`${base + envHref}/schedules`);
  await page.getByRole('heading', { name: 'Schedules' }).waitFor();
  await shot(page, '05-environment-schedules');

  await page.goto(`${base + envHref}/tokens`);
  await page.getByRole('heading', { name: 'Service tokens' }).waitFor();
  await shot(page, '06-tokens');

  await page.getByRole('button', { name: 'New token' }).click();
  await page.getByRole('textbox', { name: 'Name' }).fill('screenshot-token');
  await shot(page, '07-token-form');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('You won’t see it again').waitFor();
  await shot(page, '08-token-created');

  await page.goto(`${base}/audit-log`);
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await shot(page, '09-audit-log');

  await page.goto(`${base}/no-such-page`);
  await shot(page, '10-not-found');
  await context.close();
}

async function phone(browser: Browser): Promise<void> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
  });
  const page = await context.newPage();
  await signIn(page);
  await shot(page, '11-phone-environments');
  const envHref = await page.locator('a.strong-link').first().getAttribute('href');
  await page.goto(base + envHref);
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await shot(page, '12-phone-environment', { fullPage: false });
  await page.mouse.wheel(0, 1200);
  await shot(page, '13-phone-environment-history', { fullPage: false });
  await page.goto(`${base + envHref}/schedules`);
  await page.getByRole('heading', { name: 'Schedules' }).waitFor();
  await shot(page, '14-phone-schedules');
  await context.close();
}

await mkdir(args.out, { recursive: true });
const browser = await chromium.launch({
  executablePath: args.chromium,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
try {
  await desktop(browser);
  await phone(browser);
} finally {
  await browser.close();
}
console.log(shots.join('\n'));
