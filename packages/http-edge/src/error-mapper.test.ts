import { SlateError } from '@slate/graph';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toHttpError } from './error-mapper.ts';
import { installEdge } from './install-edge.ts';

describe('toHttpError', () => {
  it('maps kinds through the status table and HTTP-only codes through their own', () => {
    const notFound = toHttpError(new SlateError('not_found', 'TEAM_NOT_FOUND', 'no team t1'));
    expect(notFound).toEqual({
      status: 404,
      body: { detail: 'no team t1', message: 'no team t1', trace: null, code: 'TEAM_NOT_FOUND' },
      unexpected: false,
    });
    const limited = toHttpError(
      new SlateError('unavailable', 'TOO_MANY_REQUESTS', 'slow down', { retryAfterS: 2 }),
    );
    expect(limited.status).toBe(429);
    expect(limited.retryAfterS).toBe(2);
  });

  it('answers zod failures in one shape, with issue paths and a bounded summary', () => {
    const result = z.object({ a: z.array(z.number()) }).safeParse({ a: Array(8).fill('x') });
    const { status, body } = toHttpError(result.error);
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_REQUEST');
    expect(body.issues).toHaveLength(8);
    expect((body.issues as { path: string }[])[3]!.path).toBe('a[3]');
    expect(body.message).toMatch(/^invalid request: a\[0\]: .*\(and 3 more\)$/);
    expect(toHttpError(result.error, { invalidCode: 'INVALID_QUERY' }).body.code).toBe('INVALID_QUERY');
  });

  it('answers anything unrecognised with 500 INTERNAL_SERVER_ERROR and no detail of it', () => {
    const { status, body, unexpected } = toHttpError(
      new Error('ECONNREFUSED 10.0.0.3:5432 password=hunter2'),
    );
    expect(status).toBe(500);
    expect(unexpected).toBe(true);
    expect(body).toEqual({
      detail: 'internal server error',
      message: 'internal server error',
      trace: null,
      code: 'INTERNAL_SERVER_ERROR',
    });
  });

  it("keeps Chalk's exact wire when asked and adds the query error list for input faults only", () => {
    const input = new SlateError('input', 'PARSE_FAILED', 'bad');
    expect(toHttpError(input, { chalkWire: true }).body).toEqual({
      detail: 'bad',
      message: 'bad',
      trace: null,
    });
    expect(toHttpError(input, { queryErrors: true }).body.errors).toEqual([
      { code: 'PARSE_FAILED', category: 'REQUEST', message: 'bad' },
    ]);
    const auth = new SlateError('authentication', 'UNAUTHENTICATED', 'no token');
    expect(toHttpError(auth, { queryErrors: true }).body.errors).toBeUndefined();
  });
});

describe('installEdge', () => {
  const app = Fastify();
  installEdge(app);
  app.get('/boom', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  });
  app.post('/echo', async (request) => request.body);

  it('maps handler faults, bad JSON and oversized bodies to stable codes', async () => {
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect([boom.statusCode, boom.json().code]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
    const json = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect([json.statusCode, json.json().code]).toEqual([400, 'PARSE_FAILED']);
    const big = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ a: 'x'.repeat(1024 * 1024 + 1) }),
    });
    expect([big.statusCode, big.json().code]).toEqual([413, 'BODY_TOO_LARGE']);
    const media = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-unknown' },
      payload: 'x',
    });
    expect([media.statusCode, media.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('sends the security headers on every response, a strict CSP on non-HTML', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });
  });
});
