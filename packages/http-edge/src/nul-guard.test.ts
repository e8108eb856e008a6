import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installEdge } from './install-edge.ts';
import { findNul, MAX_INPUT_DEPTH } from './nul-guard.ts';

describe('findNul', () => {
  it('finds NUL in strings, keys and nested values, and nowhere else', () => {
    expect(findNul({ a: [1, 'ok', { b: 'x\u0000' }] }, 'body')).toBe('body.a[2].b');
    expect(findNul({ 'k\u0000': 1 }, 'body')).toBe('body (a key)');
    expect(findNul({ a: ['\u0001', 'é', '😀'], n: null, b: true }, 'body')).toBeUndefined();
    expect(findNul(Buffer.from([0, 0, 0]), 'body')).toBeUndefined();
  });

  it('refuses values nested deeper than the limit', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_INPUT_DEPTH + 1; i++) deep = [deep];
    expect(() => findNul(deep, 'body')).toThrow(expect.objectContaining({ code: 'INPUT_TOO_DEEP' }));
  });
});

describe('the NUL guard on a fastify app', () => {
  const app = Fastify();
  installEdge(app);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  const reached: string[] = [];
  app.get('/things/:id', async (request) => {
    reached.push(request.url);
    return { ok: true };
  });
  app.post('/things', async (request) => {
    reached.push(request.url);
    return { ok: true };
  });

  it.each([
    ['a path parameter', { method: 'GET' as const, url: '/things/%00' }, 'path.id'],
    ['a query parameter', { method: 'GET' as const, url: '/things/1?q=a%00b' }, 'query.q'],
    [
      'a JSON field',
      { method: 'POST' as const, url: '/things', payload: { client_id: 'a\u0000b' } },
      'body.client_id',
    ],
    [
      'a form field',
      {
        method: 'POST' as const,
        url: '/things',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'name=a%00b',
      },
      'body.name',
    ],
  ])('refuses NUL in %s with 400 NUL_CHARACTER before the handler', async (_what, request, path) => {
    reached.length = 0;
    const response = await app.inject(request);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'NUL_CHARACTER', message: expect.stringContaining(path) });
    expect(reached).toEqual([]);
  });

  it('lets everything else through', async () => {
    const response = await app.inject({ method: 'GET', url: '/things/%C3%A9?q=%01' });
    expect(response.statusCode).toBe(200);
  });
});
