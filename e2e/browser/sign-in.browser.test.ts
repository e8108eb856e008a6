import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, unlessCi } from '@slate/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserHarness,
  buildWebUi,
  chromiumUnavailable,
  DESKTOP,
  fillEmailSignIn,
  startBrowserHarness,
  startTestIdentityProvider,
  startUiPlane,
  type TestIdentityProvider,
  teamSeed,
  type UiPlane,
  VIEWPORTS,
  type Viewport,
} from './support/index.ts';

const DAY_MS = 24 * 3600 * 1000;
/** Sessions last 7 days (`SESSION_TTL_MS`); the clock jumps past that. */
const PAST_SESSION_LIFETIME_MS = 8 * DAY_MS;
// Timeouts are generous: beside the rest of `npm test` on two loaded cores, the first page of a fresh
// browser took up to a minute (the same test takes about 10 s on an idle machine).

const chromiumMissing = unlessCi(chromiumUnavailable());

describe.skipIf(chromiumMissing !== undefined)('sign-in in Chromium', () => {
  let work: string;
  let harness: BrowserHarness;
  let idp: TestIdentityProvider;
  let embedded: UiPlane;
  let production: UiPlane;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'slate-browser-'));
    const webRoot = join(work, 'web');
    await buildWebUi(webRoot);
    const [productionPort, idpPort] = [await freePort(), await freePort()];
    idp = startTestIdentityProvider({
      port: idpPort,
      redirectUris: [`http://127.0.0.1:${productionPort}/v1/auth/oidc/corp/callback`],
    });
    embedded = await startUiPlane({
      mode: 'embedded',
      webRoot,
      objectsRoot: join(work, 'objects-embedded'),
      seed: teamSeed({
        environment: { id: 'dev', name: 'Dev' },
        invite: { email: 'owner@acme.test', role: 'owner' },
      }),
    });
    production = await startUiPlane({
      mode: 'production',
      port: productionPort,
      webRoot,
      objectsRoot: join(work, 'objects-production'),
      seed: teamSeed({
        environment: { id: 'prod', name: 'Prod' },
        invite: { email: 'carol@acme.test', role: 'developer' },
      }),
      oidc: idp,
    });
    harness = await startBrowserHarness('sign-in');
  }, 180_000);

  afterAll(async () => {
    await harness?.close();
    await embedded?.close();
    await production?.close();
    await idp?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const open = (viewport: Viewport = DESKTOP) => harness.open({ viewport });
  const shoot = (page: Page, name: string) => harness.shoot(page, name);
  const signInWithEmail = fillEmailSignIn;

  /**
   * Clicks through the identity provider's own pages (login, then consent the first time) until the
   * browser is back on `app`. A provider that still has a session for the browser skips its pages.
   */
  async function passIdentityProvider(page: Page, app: string, email: string): Promise<void> {
    const back = (u: URL) => u.origin === app;
    for (let step = 0; step < 4; step++) {
      const before = page.url();
      await page.waitForURL(
        (u) => back(u) || (u.origin === idp.issuer && u.pathname.startsWith('/interaction/')),
      );
      if (back(new URL(page.url()))) return;
      const prompt = await page.locator('input[name="prompt"]').getAttribute('value');
      if (prompt === 'login') {
        await page.locator('input[name="login"]').fill(email);
        await page.locator('input[name="password"]').fill('any password');
        await page.getByRole('button', { name: 'Sign-in' }).click();
      } else {
        await page.getByRole('button', { name: 'Continue' }).click();
      }
      await page.waitForURL((u) => u.href !== before);
    }
    throw new Error(`still at the identity provider: ${page.url()}`);
  }

  describe('embedded mode (slate up)', () => {
    it('shows only the email form, signs a member in, and lands in their team', async () => {
      for (const [viewport, size] of VIEWPORTS) {
        const { context, page } = await open(viewport);
        await page.goto(`${embedded.url}/`);
        await page.getByRole('textbox', { name: 'Email' }).waitFor();
        expect(await page.getByRole('link', { name: /^Continue with/ }).count()).toBe(0);
        await shoot(page, `embedded-login-${size}`);

        await signInWithEmail(page, 'nobody@acme.test');
        await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/no member or pending invite/);

        await signInWithEmail(page, 'owner@acme.test');
        await page.getByRole('heading', { name: 'Environments', level: 1 }).waitFor();
        await page.getByRole('link', { name: 'Dev', exact: true }).waitFor();
        expect(await page.getByText('owner@acme.test').isVisible()).toBe(true);
        await shoot(page, `embedded-signed-in-${size}`);
        await context.close();
      }
    }, 180_000);

    it('signs out: the session ends on the server and the login page says so', async () => {
      const { context, page } = await open();
      await page.goto(`${embedded.url}/environments/dev`);
      await signInWithEmail(page, 'owner@acme.test');
      await page.getByRole('heading', { name: 'Dev' }).first().waitFor();
      const cookie = (await context.cookies()).find((c) => c.name === 'slate_session');
      expect(cookie?.httpOnly).toBe(true);

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByText('You have signed out.').waitFor();
      expect(new URL(page.url()).pathname).toBe('/login');
      // The old cookie no longer opens anything, even replayed by hand.
      const replay = await fetch(`${embedded.url}/v1/me`, {
        headers: { cookie: `slate_session=${cookie!.value}` },
      });
      expect(replay.status).toBe(401);
      await page.reload();
      await page.getByRole('textbox', { name: 'Email' }).waitFor();
      await context.close();
    }, 90_000);

    it('when the session expires, asks to sign in again and returns to the same page', async () => {
      const { context, page } = await open();
      await page.goto(`${embedded.url}/environments/dev/catalog`);
      await signInWithEmail(page, 'owner@acme.test');
      await page.getByRole('heading', { name: 'Dev' }).first().waitFor();

      embedded.advanceClock(PAST_SESSION_LIFETIME_MS);
      // The user moves on in the app (back/forward, like any in-app navigation, without a page load); the
      // next page's first call meets the expired session. (A click could race a refresh that got there first.)
      // (A string: this project's type checking has no DOM library.)
      await page.evaluate(
        "history.pushState(null, '', '/environments/dev/schedules'); dispatchEvent(new PopStateEvent('popstate'))",
      );
      await page.getByText(/Your session has expired/).waitFor();
      expect(new URL(page.url()).pathname).toBe('/environments/dev/schedules');
      await shoot(page, 'embedded-expired-desktop');

      await signInWithEmail(page, 'owner@acme.test');
      await page.locator('a[aria-current="page"]', { hasText: 'Schedules' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/environments/dev/schedules');
      await context.close();
    }, 90_000);
  });

  describe('production mode with an OIDC provider', () => {
    it('offers the provider and no email form', async () => {
      for (const [viewport, size] of VIEWPORTS) {
        const { context, page } = await open(viewport);
        await page.goto(`${production.url}/`);
        await page.getByRole('link', { name: 'Continue with Corp SSO' }).waitFor();
        expect(await page.getByRole('textbox', { name: 'Email' }).count()).toBe(0);
        await shoot(page, `oidc-login-${size}`);
        await context.close();
      }
    }, 90_000);

    it('signs an invited user in through the provider, into their team, back at the page they opened', async () => {
      for (const [viewport, size] of VIEWPORTS) {
        const { context, page } = await open(viewport);
        await page.goto(`${production.url}/environments/prod/catalog`);
        await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
        await passIdentityProvider(page, production.url, 'carol@acme.test');
        await page.getByRole('heading', { name: 'Prod' }).first().waitFor();
        expect(new URL(page.url()).pathname).toBe('/environments/prod/catalog');
        // The invite made her a developer of Acme at her first sign-in; the top bar says so where it fits.
        const me = await page.evaluate(() => fetch('/v1/me').then((r) => r.json()));
        expect(me).toMatchObject({
          user: { email: 'carol@acme.test' },
          teams: [{ id: 'acme', name: 'Acme', role: 'developer' }],
        });
        if (viewport === DESKTOP) await page.getByText('Acme · developer').waitFor();
        await shoot(page, `oidc-signed-in-${size}`);

        await page.goto(`${production.url}/`);
        await page.getByRole('link', { name: 'Prod', exact: true }).waitFor();
        await context.close();
      }
    }, 180_000);

    it('explains a refusal on the login page instead of an error body', async () => {
      const { context, page } = await open();
      await page.goto(`${production.url}/`);
      await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
      await passIdentityProvider(page, production.url, 'mallory@elsewhere.test');
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').textContent()).toMatch(/not a member of any Slate team/);
      expect(new URL(page.url()).pathname).toBe('/login');
      expect((await context.cookies()).some((c) => c.name === 'slate_session')).toBe(false);
      await shoot(page, 'oidc-refused-desktop');
      await context.close();
    }, 90_000);

    it('after expiry, the provider brings the user back to the page they were on; sign-out ends it', async () => {
      const { context, page } = await open();
      await page.goto(`${production.url}/`);
      await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
      await passIdentityProvider(page, production.url, 'carol@acme.test');
      await page.getByRole('link', { name: 'Prod', exact: true }).waitFor();
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
      // The tab is opened again after the session's lifetime.
      production.advanceClock(PAST_SESSION_LIFETIME_MS);
      await page.reload();
      await page.getByText(/Your session has expired/).waitFor();
      await page.getByRole('link', { name: 'Continue with Corp SSO' }).click();
      // Still signed in at the provider: it sends the browser straight back.
      await passIdentityProvider(page, production.url, 'carol@acme.test');
      await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/audit-log');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByText('You have signed out.').waitFor();
      await page.getByRole('link', { name: 'Continue with Corp SSO' }).waitFor();
      await context.close();
    }, 120_000);
  });

  it('raised no uncaught error in any page', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
