/**
 * Contract tests against a minimal stand-in for the metadata and data planes, written here because the
 * real planes are built concurrently. The fake implements only the wire shapes of chalk.md §3.2–3.4 and
 * the deployments API; end-to-end tests against the real planes live in `e2e/`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GraphArtifact, SlateError } from '@slate/graph';
import { freePort } from '@slate/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlateClient, type SlateClientOptions } from './index.ts';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** The fake's mutable behaviour, reset before each test. */
interface FakeState {
  requests: Recorded[];
  tokensIssued: number;
  expiresIn: number;
  /** Bearer tokens the fake refuses with 401 (to simulate revocation). */
  revoked: Set<string>;
  /** Statuses `GET /v1/deployments/:id` walks through, one per poll. */
  statuses: string[];
  /** How many times the query endpoint answers 503 before succeeding. */
  unavailableQueries: number;
}

const ENV_ID = 'env_dev';
const graph: GraphArtifact = { version: 1, project: 'p', namespaces: [], resolvers: [], namedQueries: [] };

let state: FakeState;
let server: Server;
let baseUrl: string;

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const body: unknown = text ? JSON.parse(text) : undefined;
  state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
  const url = new URL(req.url ?? '/', baseUrl);

  if (url.pathname === '/v1/oauth/token') {
    const { client_id, client_secret } = body as Record<string, string>;
    if (client_id !== 'id' || client_secret !== 'secret') {
      const message = 'Client ID and secret are invalid';
      return reply(res, 401, { detail: message, message, trace: null });
    }
    state.tokensIssued += 1;
    return reply(res, 200, {
      access_token: `tok${state.tokensIssued}`,
      token_type: 'Bearer',
      expires_in: state.expiresIn,
      primary_environment: ENV_ID,
      engines: { [ENV_ID]: `${baseUrl}/engine` },
      api_server: baseUrl,
      environment_id_to_name: { [ENV_ID]: 'Dev', env_prod: 'prod' },
    });
  }
  const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
  if (!bearer.startsWith('tok') || state.revoked.has(bearer)) {
    return reply(res, 401, { detail: 'invalid token', message: 'invalid token', trace: null });
  }
  if (url.pathname === '/v1/who-am-i') {
    return reply(res, 200, { user: 'svc_1', environment_id: ENV_ID, team_id: 'team_1' });
  }
  if (url.pathname === '/engine/v1/query/online') {
    if (state.unavailableQueries > 0) {
      state.unavailableQueries -= 1;
      return reply(res, 503, { detail: 'rolling over', message: 'rolling over', trace: null });
    }
    return reply(res, 200, {
      data: [
        { field: 'user.name', value: 'Ada', ts: '2024-01-01T00:00:00Z', valid: true, error: null },
        { field: 'user.id', value: 1, error: null },
      ],
      errors: [{ code: 'RESOLVER_FAILED', category: 'FIELD', message: 'boom', feature: 'user.score' }],
    });
  }
  if (url.pathname === '/v1/deployments' && req.method === 'POST') {
    const { graph: sent } = body as { graph: GraphArtifact };
    if (sent.version !== 1) {
      return reply(res, 400, {
        detail: 'bad graph',
        message: 'the graph is invalid',
        trace: null,
        code: 'INVALID_GRAPH',
        issues: [{ path: 'version', message: 'expected 1' }],
      });
    }
    return reply(res, 200, { id: 'cdep1', status: 'PENDING', environment_id: ENV_ID, created_at: 'now' });
  }
  if (url.pathname === '/v1/deployments' && req.method === 'GET') {
    return reply(res, 200, {
      items: [{ id: 'cdep1', status: 'SUCCESS', environment_id: ENV_ID, created_at: 'now' }],
      next_cursor: null,
    });
  }
  const redeploy = /^\/v1\/deployments\/([^/]+)\/redeploy$/.exec(url.pathname);
  if (redeploy && req.method === 'POST') {
    return reply(res, 200, { id: 'cdep2', status: 'PENDING', environment_id: ENV_ID, created_at: 'now' });
  }
  const one = /^\/v1\/deployments\/([^/]+)$/.exec(url.pathname);
  if (one) {
    if (one[1] === 'missing') {
      return reply(res, 404, {
        detail: 'no such deployment',
        message: 'deployment missing does not exist',
        trace: null,
        code: 'DEPLOYMENT_NOT_FOUND',
      });
    }
    const status = state.statuses.length > 1 ? state.statuses.shift() : state.statuses[0];
    return reply(res, 200, {
      id: one[1],
      status,
      environment_id: ENV_ID,
      created_at: 'now',
      error: status === 'BOOT_ERRORS' ? 'resolver module failed to load' : null,
    });
  }
  return reply(res, 404, { detail: 'no route', message: 'no route', trace: null });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { detail: String(error), trace: null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  state = {
    requests: [],
    tokensIssued: 0,
    expiresIn: 3600,
    revoked: new Set(),
    statuses: ['SUCCESS'],
    unavailableQueries: 0,
  };
});

const client = (overrides: Partial<SlateClientOptions> = {}) =>
  createSlateClient({ apiServer: `${baseUrl}/`, clientId: 'id', clientSecret: 'secret', ...overrides });
const requestsTo = (path: string) => state.requests.filter((r) => r.url.startsWith(path));

describe('token exchange', () => {
  it('exchanges once and shares the token between concurrent calls', async () => {
    const slate = client();
    await Promise.all([slate.whoAmI(), slate.whoAmI(), slate.listDeployments()]);
    expect(state.tokensIssued).toBe(1);
    expect(requestsTo('/v1/oauth/token')[0]?.body).toEqual({
      client_id: 'id',
      client_secret: 'secret',
      grant_type: 'client_credentials',
    });
    const who = requestsTo('/v1/who-am-i')[0]!;
    expect(who.headers.authorization).toBe('Bearer tok1');
    expect(who.headers['x-chalk-env-id']).toBe(ENV_ID);
    expect(requestsTo('/v1/deployments')[0]?.url).toBe(`/v1/deployments?environment_id=${ENV_ID}`);
  });

  it('refreshes when less than 60 s of the token remain', async () => {
    let clock = 1_000_000;
    state.expiresIn = 90;
    const slate = client({ now: () => clock });
    await slate.whoAmI();
    clock += 20_000; // 70 s left
    await slate.whoAmI();
    expect(state.tokensIssued).toBe(1);
    clock += 15_000; // 55 s left
    await slate.whoAmI();
    expect(state.tokensIssued).toBe(2);
    expect(requestsTo('/v1/who-am-i').map((r) => r.headers.authorization)).toEqual([
      'Bearer tok1',
      'Bearer tok1',
      'Bearer tok2',
    ]);
  });

  it('on 401 clears the token and retries once with a fresh one', async () => {
    const slate = client();
    await slate.whoAmI();
    state.revoked.add('tok1');
    await expect(slate.whoAmI()).resolves.toMatchObject({ user: 'svc_1', team_id: 'team_1' });
    expect(state.tokensIssued).toBe(2);
    expect(requestsTo('/v1/who-am-i').map((r) => r.headers.authorization)).toEqual([
      'Bearer tok1',
      'Bearer tok1',
      'Bearer tok2',
    ]);
  });

  it('gives up after one retry', async () => {
    const slate = client();
    await slate.whoAmI();
    state.revoked = new Set(['tok1', 'tok2']);
    await expect(slate.whoAmI()).rejects.toMatchObject({ kind: 'authentication', code: 'UNAUTHENTICATED' });
    expect(requestsTo('/v1/who-am-i')).toHaveLength(3);
  });

  it("reports refused credentials with the server's message", async () => {
    const error = await client({ clientSecret: 'wrong' })
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({
      kind: 'authentication',
      message: 'Client ID and secret are invalid',
      details: { status: 401 },
    });
  });

  it('resolves an environment given by name and routes queries to its engine', async () => {
    const token = await client({ environment: 'dev' }).getToken();
    expect(token.environmentId).toBe(ENV_ID);
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    expect(await client({ environment: 'dev' }).queryServer()).toBe(`${baseUrl}/engine`);
    expect(await client({ queryServer: 'http://q:1/' }).queryServer()).toBe('http://q:1');
    expect((await client({ environment: 'env_prod' }).getToken()).environmentId).toBe('env_prod');
  });
});

describe('queryOnline', () => {
  it('sends the body unchanged with the engine headers and returns the raw response', async () => {
    const request = {
      inputs: { 'user.id': 1 },
      outputs: ['user.name', 'user.score'],
      staleness: { 'user.score': '10m' },
      context: { tags: ['api:mock'], required_resolver_tags: [] },
      include_meta: false,
      query_name: 'q',
      query_name_version: '1',
      correlation_id: 'c-1',
      query_context: { k: 'v' },
      meta: { team: 'fraud' },
      now: '2024-01-01T00:00:00Z',
    };
    const result = await client().queryOnline(request, { timeoutMs: 1500 });
    const sent = requestsTo('/engine/v1/query/online')[0]!;
    expect(sent.body).toEqual(request);
    expect(sent.headers).toMatchObject({
      authorization: 'Bearer tok1',
      'x-chalk-env-id': ENV_ID,
      'x-chalk-deployment-type': 'engine',
      'x-chalk-timeout': '1500',
    });
    expect(result.get('user.name')).toBe('Ada');
    expect(result.get('user.id')).toBe(1);
    expect(result.get('user.unknown')).toBeUndefined();
    expect(result.errorsFor('user.score')).toEqual([
      { code: 'RESOLVER_FAILED', category: 'FIELD', message: 'boom', feature: 'user.score' },
    ]);
    expect(Object.keys(JSON.parse(JSON.stringify(result)))).toEqual(['data', 'errors']);
  });

  it('retries once when the data plane answers 503', async () => {
    state.unavailableQueries = 1;
    const result = await client().queryOnline({ inputs: { 'user.id': 1 }, outputs: ['user.name'] });
    expect(result.get('user.name')).toBe('Ada');
    state.unavailableQueries = 2;
    await expect(
      client().queryOnline({ inputs: { 'user.id': 1 }, outputs: ['user.name'] }),
    ).rejects.toMatchObject({ kind: 'unavailable', message: 'rolling over' });
  });

  it('turns an unreachable plane into an unavailable error', async () => {
    const port = await freePort();
    const error = await client({ queryServer: `http://127.0.0.1:${port}` })
      .queryOnline({ inputs: { 'user.id': 1 }, outputs: ['user.name'] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UNREACHABLE' });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('deployments', () => {
  it('uploads the bundle as base64 with its sha256', async () => {
    const bundle = new TextEncoder().encode('export const x = 1;\n'.repeat(5000));
    const deployment = await client().createDeployment({
      graph,
      bundle,
      git: { commit: 'abc', branch: 'main' },
    });
    expect(deployment).toMatchObject({ id: 'cdep1', status: 'PENDING' });
    const body = requestsTo('/v1/deployments')[0]?.body as Record<string, unknown>;
    expect(Buffer.from(body.bundle_base64 as string, 'base64').equals(Buffer.from(bundle))).toBe(true);
    expect(body.source_hash).toBe(createHash('sha256').update(bundle).digest('hex'));
    expect(body).toMatchObject({ environment_id: ENV_ID, graph, git: { commit: 'abc', branch: 'main' } });
  });

  it("maps a rejected graph to the server's code and details", async () => {
    const error = await client()
      .createDeployment({
        graph: { ...graph, version: 2 } as unknown as GraphArtifact,
        bundle: new Uint8Array(),
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'input',
      code: 'INVALID_GRAPH',
      message: 'the graph is invalid',
      details: { status: 400, detail: 'bad graph', issues: [{ path: 'version', message: 'expected 1' }] },
    });
  });

  it('maps 404 to not_found', async () => {
    await expect(client().getDeployment('missing')).rejects.toMatchObject({
      kind: 'not_found',
      code: 'DEPLOYMENT_NOT_FOUND',
    });
  });

  it('waits through the statuses and reports each change', async () => {
    state.statuses = ['PENDING', 'PENDING', 'DEPLOYING', 'SUCCESS'];
    const seen: string[] = [];
    const done = await client().waitForDeployment('cdep1', {
      intervalMs: 5,
      onProgress: (d) => seen.push(d.status),
    });
    expect(done.status).toBe('SUCCESS');
    expect(seen).toEqual(['PENDING', 'DEPLOYING', 'SUCCESS']);
  });

  it('returns a failed deployment with its error', async () => {
    state.statuses = ['DEPLOYING', 'BOOT_ERRORS'];
    const done = await client().waitForDeployment('cdep1', { intervalMs: 5 });
    expect(done).toMatchObject({ status: 'BOOT_ERRORS', error: 'resolver module failed to load' });
  });

  it('times out when the deployment never settles', async () => {
    state.statuses = ['DEPLOYING'];
    await expect(client().waitForDeployment('cdep1', { intervalMs: 5, timeoutMs: 50 })).rejects.toMatchObject(
      {
        kind: 'timeout',
        code: 'DEPLOYMENT_WAIT_TIMEOUT',
      },
    );
  });

  it('redeploys an earlier deployment', async () => {
    await expect(client().redeploy('cdep1')).resolves.toMatchObject({ id: 'cdep2' });
    expect(requestsTo('/v1/deployments/cdep1/redeploy')[0]?.method).toBe('POST');
  });
});
