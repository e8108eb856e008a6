import { describe, expect, it, vi } from 'vitest';
import { createFakeServer, reply } from '../test-support/fake-server.ts';
import { ApiError } from './api-error.ts';
import { CSRF_HEADER, createHttpClient, queryString } from './http-client.ts';
import { createSlateApi, listAll } from './slate-api.ts';

describe('createHttpClient', () => {
  it('sends GETs without the CSRF header and with the query string, and parses JSON', async () => {
    const server = createFakeServer({
      'GET /v1/teams': () => ({ items: [{ id: 't1', name: 'Acme' }], next_cursor: null }),
    });
    const http = createHttpClient({ fetch: server.fetch });
    const page = await http.request('GET', '/v1/teams', { query: { limit: 5, cursor: null, q: undefined } });
    expect(page).toEqual({ items: [{ id: 't1', name: 'Acme' }], next_cursor: null });
    const [req] = server.requests;
    expect(req?.query.toString()).toBe('limit=5');
    expect(req?.headers.has(CSRF_HEADER)).toBe(false);
  });

  it('marks every mutating request with x-slate-csrf: 1 and sends JSON', async () => {
    const server = createFakeServer({
      'POST /v1/environments/:id/tokens': () =>
        reply(201, { id: 'tok1', client_id: 'c', client_secret: 's' }),
      'DELETE /v1/tokens/:id': () => reply(204),
    });
    const http = createHttpClient({ fetch: server.fetch });
    await http.request('POST', '/v1/environments/e1/tokens', {
      body: { name: 'ci', permissions: ['deploy.read'] },
    });
    const deleted = await http.request('DELETE', '/v1/tokens/tok1');
    expect(deleted).toBeUndefined();
    const [post, del] = server.requests;
    expect(post?.headers.get('x-slate-csrf')).toBe('1');
    expect(post?.headers.get('content-type')).toBe('application/json');
    expect(post?.body).toEqual({ name: 'ci', permissions: ['deploy.read'] });
    expect(del?.headers.get('x-slate-csrf')).toBe('1');
  });

  it('turns the error body into an ApiError with status, code, message and trace', async () => {
    const server = createFakeServer({
      'GET /v1/environments/:id': () =>
        reply(403, {
          detail: 'no access to environment e9',
          message: 'no access to environment e9',
          trace: 'tr-1',
          code: 'PERMISSION_DENIED',
        }),
    });
    const http = createHttpClient({ fetch: server.fetch });
    const error = await http.request('GET', '/v1/environments/e9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 403,
      code: 'PERMISSION_DENIED',
      message: 'no access to environment e9',
      trace: 'tr-1',
    });
  });

  it('calls onUnauthenticated for a 401 and still throws', async () => {
    const server = createFakeServer({
      'GET /v1/me': () =>
        reply(401, { detail: 'sign in', message: 'sign in', trace: null, code: 'UNAUTHENTICATED' }),
    });
    const onUnauthenticated = vi.fn();
    const http = createHttpClient({ fetch: server.fetch, onUnauthenticated });
    await expect(http.request('GET', '/v1/me')).rejects.toMatchObject({ status: 401, unauthenticated: true });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it('survives a non-JSON error page and an unreachable server', async () => {
    const html = createHttpClient({
      fetch: async () => new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' }),
    });
    await expect(html.request('GET', '/v1/teams')).rejects.toMatchObject({
      status: 502,
      code: 'HTTP_502',
      message: 'Bad Gateway',
    });
    const down = createHttpClient({
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.request('GET', '/v1/teams')).rejects.toMatchObject({ status: 0, code: 'NETWORK' });
  });
});

describe('createSlateApi', () => {
  it('builds the documented paths, encoding ids', async () => {
    const server = createFakeServer({
      'GET /v1/deployments': () => ({ items: [], next_cursor: null }),
      'POST /v1/deployments/:id/redeploy': (_req, p) => ({ id: `new-${p.id}`, status: 'DEPLOYING' }),
    });
    const api = createSlateApi(createHttpClient({ fetch: server.fetch }));
    await api.deployments('env 1', { limit: 20 });
    const created = await api.redeploy('dep/1');
    expect(server.requests[0]?.query.get('environment_id')).toBe('env 1');
    expect(server.requests[0]?.query.get('limit')).toBe('20');
    expect(server.requests[1]?.path).toBe('/v1/deployments/dep%2F1/redeploy');
    expect(created).toMatchObject({ id: 'new-dep/1' });
  });

  it('listAll follows next_cursor to the end', async () => {
    const pages: Record<string, { items: number[]; next_cursor: string | null }> = {
      '': { items: [1, 2], next_cursor: 'a' },
      a: { items: [3], next_cursor: 'b' },
      b: { items: [4, 5], next_cursor: null },
    };
    const all = await listAll(async ({ cursor }) => pages[cursor ?? '']!);
    expect(all).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('queryString', () => {
  it('drops empty values and encodes the rest', () => {
    expect(queryString({ a: 'x y', b: '', c: null, d: 0 })).toBe('?a=x+y&d=0');
    expect(queryString(undefined)).toBe('');
  });
});
