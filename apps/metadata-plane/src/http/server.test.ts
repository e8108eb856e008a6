import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createRedactingLogger } from '@slate/http-edge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrlFromEnv } from '../db/database.ts';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';

describe('metadata plane HTTP edges (PGlite in memory)', () => {
  let plane: MetadataPlane;
  let webRoot: string;
  const logLines: string[] = [];
  const store = createMemoryObjectStore();

  beforeAll(async () => {
    webRoot = await mkdtemp(join(tmpdir(), 'slate-web-'));
    await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>Slate</title>');
    await writeFile(join(webRoot, 'app.js'), 'console.log(1)');
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    plane = await createMetadataPlane({
      mode: 'embedded',
      database: { type: 'pglite' },
      objectStore: store,
      apiServer: 'http://localhost:4000/',
      registrationToken: 'registration-token-for-tests',
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
        environments: [{ id: 'dev', name: 'Dev', project_id: 'web', team_id: 'acme' }],
        team_invites: [{ id: 'i1', team: 'acme', email: 'alice@acme.test', role: 'admin' }],
      },
      webRoot,
      logger: createRedactingLogger({ level: 'trace' }, sink),
    });
  });
  afterAll(async () => {
    await plane?.close();
    await rm(webRoot, { recursive: true, force: true });
  });

  it('serves the web UI with an SPA fallback, but never for API paths', async () => {
    const asset = await plane.app.inject({ method: 'GET', url: '/app.js' });
    expect(asset.body).toBe('console.log(1)');
    const deepLink = await plane.app.inject({ method: 'GET', url: '/deployments/c123' });
    expect(deepLink.statusCode).toBe(200);
    expect(deepLink.body).toContain('<title>Slate</title>');
    const api = await plane.app.inject({ method: 'GET', url: '/v1/unknown' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('sends security headers: a CSP for the UI that forbids framing, and a strict one for the API', async () => {
    const page = await plane.app.inject({ method: 'GET', url: '/deployments/c123' });
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const api = await plane.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    for (const response of [page, api]) {
      expect(response.headers).toMatchObject({
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    }
    expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('refuses a NUL character in a path, a JSON or form field, or a cookie with 400, never a 500', async () => {
    const token = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'nul',
      permissions: ['deploy.read'],
    });
    const exchange = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      payload: {
        client_id: token.clientId,
        client_secret: token.clientSecret,
        grant_type: 'client_credentials',
      },
    });
    const bearer = { authorization: `Bearer ${exchange.json().access_token}` };
    const path = await plane.app.inject({ method: 'GET', url: '/v1/environments/%00', headers: bearer });
    expect([path.statusCode, path.json().code]).toEqual([400, 'NUL_CHARACTER']);
    const json = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      payload: { client_id: 'a\u0000b', client_secret: 'x', grant_type: 'client_credentials' },
    });
    // The token endpoint keeps Chalk's exact error wire: no `code`.
    expect(json.statusCode).toBe(400);
    expect(json.json()).toEqual({
      detail: expect.stringContaining('NUL'),
      message: expect.any(String),
      trace: null,
    });
    const form = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'client_id=a%00b&client_secret=x&grant_type=client_credentials',
    });
    expect(form.statusCode).toBe(400);
    const cookie = await plane.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { cookie: 'slate_session=%00' },
    });
    expect([cookie.statusCode, cookie.json().code]).toEqual([400, 'NUL_CHARACTER']);
  });

  it('echoes a sane x-request-id and never logs secrets, tokens or cookies', async () => {
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'ci',
      permissions: ['deploy.create', 'deploy.read'],
    });
    const exchange = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      headers: { 'x-request-id': 'req-123' },
      payload: {
        client_id: created.clientId,
        client_secret: created.clientSecret,
        grant_type: 'client_credentials',
      },
    });
    expect(exchange.headers['x-request-id']).toBe('req-123');
    const accessToken = exchange.json().access_token as string;
    const login = await plane.app.inject({
      method: 'POST',
      url: '/v1/auth/local-login',
      payload: { email: 'alice@acme.test' },
    });
    const cookie = login.cookies[0]!.value;
    await plane.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: `slate_session=${cookie}` } });
    await plane.app.inject({
      method: 'GET',
      url: '/v1/who-am-i',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const bad = await plane.app.inject({
      method: 'GET',
      url: '/v1/data-plane/desired-state',
      headers: { authorization: 'Bearer dp-not-a-real-token-but-secret-looking' },
    });
    expect(bad.statusCode).toBe(401);
    const logs = logLines.join('');
    expect(logs).toContain('req-123');
    for (const secret of [
      created.clientSecret,
      accessToken,
      cookie,
      'dp-not-a-real-token',
      'registration-token-for-tests',
    ]) {
      expect(logs).not.toContain(secret);
    }
  });

  it('accepts deployment bodies above the default 1 MB limit and issues user tokens', async () => {
    const alice = await plane.services.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'alice@acme.test')
      .executeTakeFirstOrThrow();
    const token = await plane.services.issueUserAccessToken(alice.id, 'dev');
    const me = await plane.app.inject({
      method: 'GET',
      url: '/v1/who-am-i',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.json()).toEqual({ user: alice.id, environment_id: 'dev', team_id: 'acme' });
    const bytes = Buffer.alloc(3 * 1024 * 1024, 'a');
    const res = await plane.app.inject({
      method: 'POST',
      url: '/v1/deployments',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        graph: { version: 1, namespaces: [], resolvers: [] },
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().environment_id).toBe('dev');
    const small = await plane.app.inject({
      method: 'POST',
      url: '/v1/oauth/token',
      payload: {
        client_id: 'x'.repeat(2 * 1024 * 1024),
        client_secret: 'y',
        grant_type: 'client_credentials',
      },
    });
    expect(small.statusCode).toBe(413);
  });
});

describe('databaseUrlFromEnv', () => {
  it('prefers DATABASE_URL, else builds from the POSTGRES_* secret keys with escaping', () => {
    expect(databaseUrlFromEnv({ DATABASE_URL: 'postgres://x@y/z', POSTGRES_HOST: 'h' })).toBe(
      'postgres://x@y/z',
    );
    expect(
      databaseUrlFromEnv({
        POSTGRES_USER: 'chalk',
        POSTGRES_PASSWORD: 'p@ss/word',
        POSTGRES_HOST: 'db.internal',
        POSTGRES_DB: 'chalk',
      }),
    ).toBe('postgres://chalk:p%40ss%2Fword@db.internal:5432/chalk');
    expect(databaseUrlFromEnv({ POSTGRES_USER: 'u', POSTGRES_HOST: 'h:6543', POSTGRES_DB: 'd' })).toBe(
      'postgres://u@h:6543/d',
    );
    expect(databaseUrlFromEnv({ POSTGRES_USER: 'u' })).toBeUndefined();
  });
});
