/**
 * The API host serves the data plane's routes (issue 13): a client that knows only `api_server` queries,
 * bulk-queries (feather), uploads and asks who it is through the metadata plane, which forwards each request
 * to the environment's data plane. Both planes run in this process, on real sockets.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSlateClient } from '@slate/client';
import type { DataPlane } from '@slate/data-plane';
import type { MetadataPlane } from '@slate/metadata-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from './forwarding/forwarding-repo.ts';
import { deployRepository, type InProcessPlanes, startInProcessPlanes } from './support/in-process-planes.ts';
import { accessToken, until } from './support/index.ts';

const REGISTRATION = 'registration-token-for-forwarding-tests';
type Json = Record<string, unknown>;

describe('the API host forwards data-plane routes', () => {
  let planes: InProcessPlanes | undefined;
  let plane: MetadataPlane;
  let dataPlane: DataPlane;
  let dir: string;
  let api: string;
  let engine: string;
  let clientId: string;
  let clientSecret: string;
  let token: string;

  const post = async (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
  };
  const values = (body: Json) =>
    Object.fromEntries(
      ((body.data ?? []) as { field: string; value: unknown }[]).map((d) => [d.field, d.value]),
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-forwarding-'));
    planes = await startInProcessPlanes({
      dir,
      registrationToken: REGISTRATION,
      seed: {
        teams: [
          { id: 'acme', name: 'Acme' },
          { id: 'globex', name: 'Globex' },
        ],
        projects: [
          { id: 'web', name: 'Web', team_id: 'acme' },
          { id: 'gx', name: 'Globex web', team_id: 'globex' },
        ],
        environments: [
          { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
          { id: 'gxdev', name: 'Globex development', project_id: 'gx', team_id: 'globex' },
        ],
      },
      dataPlaneName: 'east',
    });
    ({ metadata: plane, dataPlane, api, engine } = planes);
    const created = await plane.services.createServiceToken({
      environmentId: 'dev',
      name: 'forwarding',
      permissions: ['deploy.create', 'deploy.read', 'query.online'],
    });
    ({ clientId, clientSecret } = created);
    token = await accessToken(api, { client_id: clientId, client_secret: clientSecret });
    const deployed = await deployRepository(
      api,
      token,
      new URL('./forwarding/forwarding-repo.ts', import.meta.url),
      repo,
    );
    expect(deployed.status).toBe(201);
    // Ready when the data plane answers through the API host.
    let last: unknown;
    await until(
      async () => {
        const answer = await post(api, '/v1/query/online', {
          inputs: { 'account.id': 1 },
          outputs: ['account.doubled'],
        });
        last = answer;
        return answer.status === 200 && values(answer.body)['account.doubled'] === 2 ? true : undefined;
      },
      'a query answered through the API host',
      { timeoutMs: 30_000, intervalMs: 100, context: () => JSON.stringify(last) },
    );
  }, 90_000);
  afterAll(async () => {
    await planes?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('still names the data plane in the token exchange', async () => {
    const res = await fetch(`${api}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    const body = (await res.json()) as Json;
    expect(body.engines).toEqual({ dev: engine });
    expect(body.api_server).toBe(api);
  });

  it('answers an online query as the data plane does, with its X-Chalk headers passed on', async () => {
    const request = { inputs: { 'account.id': 21 }, outputs: ['account.doubled', 'account.note'] };
    const via = await post(api, '/v1/query/online', request, { 'x-request-id': 'corr-forwarding-1' });
    const direct = await post(engine, '/v1/query/online', request);
    expect(via.status).toBe(200);
    expect(values(via.body)).toEqual({ 'account.doubled': 42, 'account.note': 'computed-21' });
    expect(values(via.body)).toEqual(values(direct.body));
    expect(via.headers.get('x-request-id')).toBe('corr-forwarding-1');
  });

  it('answers a bulk (feather) query from a client that knows only the API host', async () => {
    const client = createSlateClient({ apiServer: api, queryServer: api, clientId, clientSecret });
    const result = await client.queryBulk({
      inputs: { 'account.id': [1, 2, 3] },
      outputs: ['account.doubled'],
    });
    expect(result.errors).toEqual([]);
    expect(result.rows.map((row) => row['account.doubled'])).toEqual([2, 4, 6]);
  });

  it('uploads through the API host, and the next query reads the uploaded value', async () => {
    const client = createSlateClient({ apiServer: api, queryServer: api, clientId, clientSecret });
    const uploaded = await client.uploadFeatures({ 'account.id': [7], 'account.note': ['uploaded-7'] });
    expect(uploaded.errors).toEqual([]);
    const after = await post(api, '/v1/query/online', {
      inputs: { 'account.id': 7 },
      outputs: ['account.note'],
    });
    expect(values(after.body)).toEqual({ 'account.note': 'uploaded-7' });
  });

  it('tells who the caller is, and serves the graph', async () => {
    const who = await fetch(`${api}/v1/who-am-i`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await who.json()) as Json).environment_id).toBe('dev');
    const graph = await fetch(`${api}/v1/environment/graph`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(graph.status).toBe(200);
    expect(JSON.stringify(await graph.json())).toContain('account.doubled');
  });

  it('passes X-Chalk-Timeout on: a slow resolver is cut at the deadline, not after its 5 s', async () => {
    const started = performance.now();
    const answer = await post(
      api,
      '/v1/query/online',
      { inputs: { 'account.id': 3 }, outputs: ['account.slow', 'account.doubled'] },
      { 'X-Chalk-Timeout': '300' },
    );
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(values(answer.body)['account.doubled']).toBe(6);
    expect(values(answer.body)['account.slow'] ?? null).toBeNull();
    expect((answer.body.errors as unknown[]).length).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(4000);
  });

  it('refuses without a valid token before forwarding', async () => {
    const res = await fetch(`${api}/v1/query/online`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-jwt', 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { 'account.id': 1 }, outputs: ['account.doubled'] }),
    });
    expect(res.status).toBe(401);
  });

  it('forwards an offline result’s signed download link without a token, routed by its environment', async () => {
    // This data plane runs no offline queries: what matters is who answers. A link naming no environment is
    // refused by the API host; one naming an environment reaches that environment's data plane.
    const unrouted = await fetch(`${api}/v4/offline_query/rev-1/download/0?expires=1&signature=x`);
    expect(unrouted.status).toBe(403);
    expect(((await unrouted.json()) as Json).code).toBe('DOWNLOAD_LINK_INVALID');
    const path = '/v4/offline_query/rev-1/download/0?environment=dev&expires=1&signature=x';
    const [via, direct] = await Promise.all([fetch(`${api}${path}`), fetch(`${engine}${path}`)]);
    expect(via.status).toBe(direct.status);
    expect(await via.json()).toEqual(await direct.json());
  });

  it('exchanges credentials on the data plane too, relayed to the metadata plane', async () => {
    const exchange = (base: string, secret: string) =>
      fetch(`${base}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_id: clientId,
          client_secret: secret,
          grant_type: 'client_credentials',
        }),
      });
    const res = await exchange(engine, clientSecret);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; engines: Json };
    expect(body.engines).toEqual({ dev: engine });
    const who = await fetch(`${engine}/v1/who-am-i`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(((await who.json()) as Json).environment_id).toBe('dev');
    const [viaEngine, viaApi] = [await exchange(engine, 'wrong'), await exchange(api, 'wrong')];
    expect(viaEngine.status).toBe(401);
    expect(await viaEngine.text()).toBe(await viaApi.text());
  });

  it('serves a signed-in user (session cookie, CSRF header, X-Chalk-Env-Id) as the web playground calls it', async () => {
    // A member of acme only, with a session as a sign-in leaves one (the cookie's sha256 is stored).
    const db = plane.services.db;
    await db.insertInto('users').values({ id: 'u_play', email: 'play@example.com', name: 'Play' }).execute();
    await db
      .insertInto('team_members')
      .values({ user_id: 'u_play', team_id: 'acme', role: 'developer' })
      .execute();
    const secret = 'playground-session-secret';
    await db
      .insertInto('sessions')
      .values({
        id_hash: createHash('sha256').update(secret).digest('hex'),
        user_id: 'u_play',
        expires_at: new Date(Date.now() + 3_600_000),
      })
      .execute();
    const asUser = (headers: Record<string, string>) =>
      fetch(`${api}/v1/query/online`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `slate_session=${secret}`, ...headers },
        body: JSON.stringify({ inputs: { 'account.id': 5 }, outputs: ['account.doubled'] }),
      });
    const ok = await asUser({ 'x-slate-csrf': '1', 'x-chalk-env-id': 'dev' });
    expect(ok.status).toBe(200);
    expect(values((await ok.json()) as Json)).toEqual({ 'account.doubled': 10 });

    const noCsrf = await asUser({ 'x-chalk-env-id': 'dev' });
    expect([noCsrf.status, ((await noCsrf.json()) as Json).code]).toEqual([403, 'CSRF_HEADER_REQUIRED']);
    const noEnvironment = await asUser({ 'x-slate-csrf': '1' });
    expect(noEnvironment.status).toBe(400);
    expect(JSON.stringify(await noEnvironment.json())).toContain('ENVIRONMENT_REQUIRED');
    // Another team's environment: refused here, never forwarded.
    const elsewhere = await asUser({ 'x-slate-csrf': '1', 'x-chalk-env-id': 'gxdev' });
    expect(elsewhere.status).toBe(403);
    expect(JSON.stringify(await elsewhere.json())).toContain('PERMISSION_DENIED');
    const badCookie = await fetch(`${api}/v1/query/online`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: 'slate_session=not-a-session',
        'x-slate-csrf': '1',
        'x-chalk-env-id': 'dev',
      },
      body: '{}',
    });
    expect(badCookie.status).toBe(401);
    // A GET needs no CSRF header (the graph the playground autocompletes from).
    const graph = await fetch(`${api}/v1/environment/graph`, {
      headers: { cookie: `slate_session=${secret}`, 'x-chalk-env-id': 'dev' },
    });
    expect(graph.status).toBe(200);
  });

  it('answers 503 in the seed product’s error shape when the data plane is down', async () => {
    await dataPlane.close();
    const started = performance.now();
    const answer = await post(api, '/v1/query/online', {
      inputs: { 'account.id': 1 },
      outputs: ['account.doubled'],
    });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ code: 'DATA_PLANE_UNAVAILABLE', detail: expect.any(String) });
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(performance.now() - started).toBeLessThan(5000);
    const graph = await fetch(`${api}/v1/environment/graph`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(graph.status).toBe(503);
  });
});
