import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';

/** The two sizes every page is looked at: a laptop and a phone. */
export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;
export type Viewport = typeof DESKTOP | typeof PHONE;
/** Both sizes with the suffix their screenshots carry, for `for (const [viewport, size] of VIEWPORTS)`. */
export const VIEWPORTS: readonly (readonly [Viewport, 'desktop' | 'phone'])[] = [
  [DESKTOP, 'desktop'],
  [PHONE, 'phone'],
];

/** What `open` sets up beyond the viewport. */
export interface OpenOptions {
  readonly viewport?: Viewport;
  readonly acceptDownloads?: boolean;
  /** Called with the text of every `/v1/…` answer the page receives (e.g. to prove a secret never comes back). */
  readonly onApiBody?: (body: string) => void;
}

/** One Chromium for a suite, and what each test needs from it. */
export interface BrowserHarness {
  readonly browser: Browser;
  /** Every uncaught error any page raised (`url: message`); a suite ends by asserting it is empty. */
  readonly pageErrors: string[];
  /**
   * A fresh profile (no cookies) at desktop or phone size. Only local hosts are reachable (an identity
   * provider's pages import a web font: nothing may depend on the internet), and waits last 90 s (a first
   * page of a fresh browser took over 30 s, Playwright's default, beside the rest of `npm test` on two
   * loaded cores).
   */
  open(options?: OpenOptions): Promise<{ context: BrowserContext; page: Page }>;
  /** A full-page PNG `<name>.png` in the suite's screenshot folder, once the network is quiet. */
  shoot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Where screenshots go, one folder per suite, for a person to look at (git-ignored). */
export const SCREENSHOTS_ROOT = resolve(import.meta.dirname, '../../../apps/web/screenshots');

/**
 * Launches the machine's Chromium for a suite whose screenshots go to `apps/web/screenshots/<suite>/`.
 *
 * @example
 * const harness = await startBrowserHarness('admin');
 * const { context, page } = await harness.open({ viewport: PHONE });
 * … await harness.shoot(page, 'secrets-phone'); await context.close();
 * afterAll: await harness.close();
 */
export async function startBrowserHarness(suite: string): Promise<BrowserHarness> {
  const screenshots = join(SCREENSHOTS_ROOT, suite);
  await mkdir(screenshots, { recursive: true });
  const browser = await launchChromium();
  const pageErrors: string[] = [];
  return {
    browser,
    pageErrors,
    async open(options = {}) {
      const viewport = options.viewport ?? DESKTOP;
      const context = await browser.newContext({
        viewport,
        acceptDownloads: options.acceptDownloads ?? false,
        ...(viewport === PHONE ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
      });
      await context.route(
        (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
        (route) => route.abort(),
      );
      context.setDefaultTimeout(90_000);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      const onApiBody = options.onApiBody;
      if (onApiBody) {
        page.on('response', async (response) => {
          if (!new URL(response.url()).pathname.startsWith('/v1/')) return;
          onApiBody(await response.text().catch(() => ''));
        });
      }
      return { context, page };
    },
    async shoot(page, name) {
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
    },
    close: () => browser.close(),
  };
}

/** Fills the embedded email form (`slate up`'s sign-in) on the page already showing it, and submits. */
export async function fillEmailSignIn(page: Page, email: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * Opens `app + at` and signs in there with the embedded email form; the app then shows `at` itself. Waits for
 * nothing after the click: the caller waits for what it expects (a heading, an error).
 */
export async function signInWithEmail(page: Page, app: string, email: string, at = '/'): Promise<void> {
  await page.goto(`${app}${at}`);
  await fillEmailSignIn(page, email);
}

/**
 * A session cookie header for `email` through the embedded sign-in (as the page gets it), for a test's own
 * API calls next to the browser.
 *
 * @throws Error when the sign-in is refused.
 */
export async function sessionCookie(app: string, email: string): Promise<string> {
  const res = await fetch(`${app}/v1/auth/local-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1' },
    body: JSON.stringify({ email }),
  });
  if (res.status !== 200) throw new Error(`local login of ${email}: ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** An API call as `cookie`'s session (the CSRF header marks it as the app's own script): status, text and JSON. */
export async function apiAsSession(
  app: string,
  method: string,
  path: string,
  cookie: string | null,
  body?: unknown,
): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const res = await fetch(`${app}${path}`, {
    method,
    headers: {
      ...(cookie ? { cookie, 'x-slate-csrf': '1' } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
