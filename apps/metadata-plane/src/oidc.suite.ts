import type { Server } from 'node:http';
import { freePort } from '@slate/testing';
import Provider from 'oidc-provider';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleProvider } from './auth/oidc.ts';
import type { DatabaseFactory } from './metadata-plane.suite.ts';
import { createMetadataPlane, type MetadataPlane } from './metadata-plane.ts';
import { createMemoryObjectStore } from './testing/memory-object-store.ts';

const CLIENT_ID = 'slate-metadata-plane';
const CLIENT_SECRET = 'a-client-secret-for-the-local-test-provider';

/** A cookie jar per host, and fetch that never follows redirects by itself. */
function browser() {
  const jars = new Map<string, Map<string, string>>();
  const jar = (url: URL) => {
    let j = jars.get(url.hostname);
    if (!j) {
      j = new Map();
      jars.set(url.hostname, j);
    }
    return j;
  };
  const go = async (url: string, init: RequestInit = {}) => {
    const target = new URL(url);
    const cookies = [...jar(target)].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(target, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookies ? { cookie: cookies } : {}) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') jar(target).delete(name!.trim());
      else jar(target).set(name!.trim(), value);
    }
    return res;
  };
  /** Follows redirects until one leaves `stopAt`'s origin+path prefix is reached (returned unfollowed). */
  const follow = async (url: string, stopAt: (next: URL) => boolean, init: RequestInit = {}) => {
    let res = await go(url, init);
    let current = new URL(url);
    for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 20; hops++) {
      const next = new URL(res.headers.get('location')!, current);
      if (stopAt(next)) return { res, next };
      current = next;
      res = await go(next.href);
    }
    return { res, next: current };
  };
  return { go, follow, jar: (host: string) => jars.get(host) ?? new Map<string, string>() };
}

/** The first form of a page: its absolute action and hidden fields. */
function form(html: string, base: URL) {
  const action = /<form[^>]*action="([^"]+)"/i.exec(html)?.[1];
  if (!action) throw new Error(`no form in: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) {
    fields[m[1]!] = m[2]!;
  }
  return { action: new URL(action.replace(/&amp;/g, '&'), base).href, fields };
}

/**
 * OIDC login against a real OpenID provider (oidc-provider) started here: discovery, authorization code
 * with PKCE, state and nonce, the provider's own login and consent forms, then the session cookie.
 */
export function runOidcSuite(label: string, factory: DatabaseFactory): void {
  describe(`OIDC login (${label})`, () => {
    let plane: MetadataPlane;
    let idp: Server;
    let api: string;
    let issuer: string;

    beforeAll(async () => {
      const [apiPort, idpPort] = [await freePort(), await freePort()];
      api = `http://127.0.0.1:${apiPort}`;
      issuer = `http://localhost:${idpPort}`;
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [`${api}/v1/auth/oidc/corp/callback`],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        // Any login works at this test provider; the login name is the account's email.
        findAccount: async (_ctx, id) => ({
          accountId: id,
          claims: async () => ({ sub: id, email: id, email_verified: true, name: id.split('@')[0] }),
        }),
        cookies: { keys: ['oidc-provider-test-cookie-key'] },
      });
      idp = provider.listen(idpPort);
      plane = await createMetadataPlane({
        mode: 'production',
        database: await factory.create(),
        objectStore: createMemoryObjectStore(),
        apiServer: api,
        registrationToken: 'registration-token-for-tests',
        seed: {
          teams: [{ id: 'acme', name: 'Acme' }],
          team_invites: [{ id: 'c1', team: 'acme', email: 'carol@acme.test', role: 'developer' }],
        },
        oidcProviders: [
          {
            id: 'corp',
            name: 'Corp SSO',
            issuer,
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            allowInsecure: true,
          },
          googleProvider('google-client-id', 'google-client-secret'),
        ],
        logger: pino({ level: 'silent' }),
      });
      await plane.listen({ port: apiPort });
    });
    afterAll(async () => {
      await plane?.close();
      await new Promise((resolve) => idp?.close(resolve));
      await factory.cleanup();
    });

    /** Drives one login as `email`; returns the browser and the API's answer to the callback. */
    const loginAs = async (
      email: string,
      returnTo = '/welcome',
      callbackHeaders: Record<string, string> = {},
    ) => {
      const b = browser();
      const isCallback = (u: URL) => u.origin === api && u.pathname === '/v1/auth/oidc/corp/callback';
      const start = await b.follow(
        `${api}/v1/auth/oidc/corp/login?return_to=${encodeURIComponent(returnTo)}`,
        () => false,
      );
      expect(start.res.status).toBe(200); // the provider's login page
      const loginPage = form(await start.res.text(), start.next);
      const afterLogin = await b.follow(loginPage.action, isCallback, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...loginPage.fields, login: email, password: 'whatever' }).toString(),
      });
      let callback = afterLogin.next;
      if (!isCallback(callback)) {
        // The consent page.
        const consent = form(await afterLogin.res.text(), afterLogin.next);
        const afterConsent = await b.follow(consent.action, isCallback, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(consent.fields).toString(),
        });
        callback = afterConsent.next;
      }
      expect(isCallback(callback)).toBe(true);
      const answer = await b.go(callback.href, { headers: callbackHeaders });
      return { b, callback, answer };
    };

    it('lists its identity providers, Google included, without local login in production', async () => {
      const res = await fetch(`${api}/v1/auth/providers`);
      expect(await res.json()).toEqual({
        providers: [
          { id: 'corp', name: 'Corp SSO', login_url: '/v1/auth/oidc/corp/login' },
          { id: 'google', name: 'Google', login_url: '/v1/auth/oidc/google/login' },
        ],
        local_login: false,
      });
    });

    it('logs in an invited email through the full code + PKCE flow; it joins its team with the invite role', async () => {
      const { b, callback, answer } = await loginAs('carol@acme.test');
      const authorize = new URL(callback);
      expect(authorize.searchParams.get('code')).toBeTruthy();
      expect(answer.status).toBe(302);
      expect(answer.headers.get('location')).toBe('/welcome');
      const setCookie = answer.headers.getSetCookie().find((c) => c.startsWith('slate_session='))!;
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      const session = b.jar('127.0.0.1').get('slate_session')!;
      const me = await fetch(`${api}/v1/me`, { headers: { cookie: `slate_session=${session}` } });
      expect(await me.json()).toMatchObject({
        user: { email: 'carol@acme.test' },
        teams: [{ id: 'acme', name: 'Acme', role: 'developer' }],
      });
      // Cookie-authenticated mutations still need the CSRF header.
      const noCsrf = await fetch(`${api}/v1/environments`, {
        method: 'POST',
        headers: { cookie: `slate_session=${session}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(noCsrf.status).toBe(403);
      expect(((await noCsrf.json()) as { code: string }).code).toBe('CSRF_HEADER_REQUIRED');
    });

    it('refuses an email with neither membership nor invite (no open sign-up)', async () => {
      const { b, answer } = await loginAs('mallory@evil.test');
      expect(answer.status).toBe(401);
      expect(((await answer.json()) as { code: string }).code).toBe('UNKNOWN_USER');
      expect(b.jar('127.0.0.1').has('slate_session')).toBe(false);
    });

    it('sends a refused browser back to the login page with the code, and audits the refusal', async () => {
      const refusals = () =>
        plane.services.db
          .selectFrom('audit_log')
          .select(['principal', 'target', 'outcome'])
          .where('action', '=', 'auth.oidc_login')
          .where('target', '=', 'mallory@evil.test')
          .execute();
      const before = (await refusals()).length;
      const { b, answer } = await loginAs('mallory@evil.test', '/welcome', {
        accept: 'text/html,application/xhtml+xml',
      });
      expect(answer.status).toBe(302);
      expect(answer.headers.get('location')).toBe('/login?error=UNKNOWN_USER');
      expect(b.jar('127.0.0.1').has('slate_session')).toBe(false);
      const after = await refusals();
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)).toEqual({
        principal: 'anonymous',
        target: 'mallory@evil.test',
        outcome: 'failure:401',
      });
    });

    it('refuses a callback from another browser (state cookie) and a replayed one', async () => {
      const first = await loginAs('carol@acme.test');
      expect(first.answer.status).toBe(302);
      const replay = await first.b.go(first.callback.href);
      expect(replay.status).toBe(401);
      const stranger = await fetch(first.callback.href, { redirect: 'manual' });
      expect(stranger.status).toBe(401);
      expect(((await stranger.json()) as { code: string }).code).toBe('OIDC_LOGIN_FAILED');
    });

    it('sends the browser to the provider with PKCE (S256), state, nonce and the callback URL', async () => {
      const res = await fetch(`${api}/v1/auth/oidc/corp/login`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const to = new URL(res.headers.get('location')!);
      expect(`${to.origin}${to.pathname}`).toBe(`${issuer}/auth`);
      const p = to.searchParams;
      expect(p.get('client_id')).toBe(CLIENT_ID);
      expect(p.get('response_type')).toBe('code');
      expect(p.get('redirect_uri')).toBe(`${api}/v1/auth/oidc/corp/callback`);
      expect(p.get('code_challenge_method')).toBe('S256');
      expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(p.get('nonce')?.length).toBeGreaterThanOrEqual(32);
      const state = p.get('state')!;
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('slate_oidc_state='))!;
      expect(cookie).toContain(`slate_oidc_state=${state}`);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
    });

    it('only returns to paths on this site', async () => {
      const res = await fetch(
        `${api}/v1/auth/oidc/corp/login?return_to=${encodeURIComponent('https://evil.test/')}`,
        {
          redirect: 'manual',
        },
      );
      expect(res.status).toBe(400);
      const protocolRelative = await fetch(
        `${api}/v1/auth/oidc/corp/login?return_to=${encodeURIComponent('//evil.test')}`,
        {
          redirect: 'manual',
        },
      );
      expect(protocolRelative.status).toBe(400);
      expect((await fetch(`${api}/v1/auth/oidc/nope/login`, { redirect: 'manual' })).status).toBe(404);
    });
  });
}
