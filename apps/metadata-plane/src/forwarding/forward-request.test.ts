import http from 'node:http';
import https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { SlateError } from '@slate/graph';
import { afterEach, describe, expect, it } from 'vitest';
import { type ForwardedRequest, forwardOnce } from './forward-request.ts';

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: http.Server | Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const request = (overrides: Partial<ForwardedRequest> = {}): ForwardedRequest => ({
  method: 'POST',
  path: '/v1/query/online?x=1',
  headers: {},
  body: null,
  requestId: 'req-1',
  clientIp: '10.0.0.9',
  timeoutMs: 5000,
  signal: new AbortController().signal,
  ...overrides,
});

describe('forwardOnce', () => {
  it('cuts a data plane that accepts the connection but never answers, at the timeout', async () => {
    const sockets: Socket[] = [];
    const hanging = createServer((socket) => sockets.push(socket));
    const url = await listen(hanging);
    closers.unshift(async () => {
      for (const socket of sockets) socket.destroy();
    });
    const started = performance.now();
    const error = await forwardOnce(url, request({ timeoutMs: 300 }), agents).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(SlateError);
    expect((error as SlateError).code).toBe('DATA_PLANE_TIMEOUT');
    expect((error as SlateError).kind).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });

  it('says a refused connection never reached the data plane (a GET may go elsewhere)', async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    closers.pop();
    const error = (await forwardOnce(url, request(), agents).catch((e: unknown) => e)) as SlateError;
    expect(error.code).toBe('DATA_PLANE_UNAVAILABLE');
    expect(error.kind).toBe('unavailable');
    expect(error.details?.connectFailed).toBe(true);
  });

  it('streams the request body: the answer can arrive before the client has sent it all', async () => {
    let firstChunk = '';
    const upstream = http.createServer((req, res) => {
      req.once('data', (chunk: Buffer) => {
        firstChunk = chunk.toString();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('got-first');
        // The rest of the body is drained, the answer finished only when it ends.
        req.resume();
        req.on('end', () => res.end('|done'));
      });
    });
    const url = await listen(upstream);
    const body = new PassThrough();
    body.write('chunk-1');
    // Resolves while `body` is still open: nothing waited for the whole body.
    const answer = await forwardOnce(
      url,
      request({ body, headers: { 'transfer-encoding': 'chunked' } }),
      agents,
    );
    expect(answer.status).toBe(200);
    expect(firstChunk).toBe('chunk-1');
    body.end('chunk-2');
    let text = '';
    for await (const chunk of answer.body) text += String(chunk);
    expect(text).toBe('got-first|done');
  });

  it('passes X-Chalk-* and Authorization on, sets the request id and X-Forwarded-For, drops hop-by-hop and cookies', async () => {
    let seen: http.IncomingHttpHeaders = {};
    let seenUrl = '';
    const upstream = http.createServer((req, res) => {
      seen = req.headers;
      seenUrl = req.url ?? '';
      res.writeHead(201, { 'x-chalk-server': 'dp', connection: 'keep-alive', 'x-request-id': 'theirs' });
      res.end('{}');
    });
    const url = await listen(upstream);
    const answer = await forwardOnce(
      url,
      request({
        method: 'GET',
        headers: {
          authorization: 'Bearer abc',
          'x-chalk-timeout': '250',
          'x-chalk-query-name': 'q',
          cookie: 'slate_session=secret',
          connection: 'keep-alive, x-private',
          'x-private': 'hop',
          'keep-alive': 'timeout=5',
          'x-forwarded-for': '1.2.3.4',
        },
      }),
      agents,
    );
    answer.body.resume();
    expect(seenUrl).toBe('/v1/query/online?x=1');
    expect(seen.authorization).toBe('Bearer abc');
    expect(seen['x-chalk-timeout']).toBe('250');
    expect(seen['x-chalk-query-name']).toBe('q');
    expect(seen['x-request-id']).toBe('req-1');
    expect(seen['x-forwarded-for']).toBe('1.2.3.4, 10.0.0.9');
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-private']).toBeUndefined();
    expect(answer.status).toBe(201);
    expect(answer.headers['x-chalk-server']).toBe('dp');
    expect(answer.headers.connection).toBeUndefined();
    expect(answer.headers['x-request-id']).toBeUndefined();
  });
});
