import http2, { type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { SlateError } from '@slate/graph';
import { freePort } from '@slate/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createH2SessionPool } from './h2-session-pool.ts';

/** A real h2c server that counts its connections and can drop them all (a data plane restarting). */
async function startServer(port = 0) {
  const server = http2.createServer();
  const sessions = new Set<Http2Session>();
  let connections = 0;
  server.on('session', (session) => {
    connections++;
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('createH2SessionPool', () => {
  it('shares one connection per origin between calls', async () => {
    const server = await startServer();
    stops.push(server.stop);
    const pool = createH2SessionPool();
    const [first, second] = await Promise.all([pool.session(server.origin), pool.session(server.origin)]);
    expect(first === second).toBe(true);
    expect((await pool.session(server.origin)) === first).toBe(true);
    expect(server.connections()).toBe(1);
    pool.close();
  });

  it('reconnects after the server went away and came back on the same port', async () => {
    const server = await startServer();
    const pool = createH2SessionPool();
    const before = await pool.session(server.origin);
    await server.stop();
    while (!before.closed && !before.destroyed) await new Promise((resolve) => setTimeout(resolve, 10));
    const again = await startServer(server.port);
    stops.push(again.stop);
    const after = await pool.session(server.origin);
    // Compared by identity: printing an Http2Session for a diff fails.
    expect(after === before).toBe(false);
    expect(again.connections()).toBe(1);
    pool.close();
  });

  it('fails a refused connection as DATA_PLANE_UNAVAILABLE, marked as never sent', async () => {
    const pool = createH2SessionPool();
    const error = await pool.session(`http://127.0.0.1:${await freePort()}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ code: 'DATA_PLANE_UNAVAILABLE', details: { connectFailed: true } });
    pool.close();
  });

  it('keeps at most maxSessions origins, closing the oldest', async () => {
    const servers = [await startServer(), await startServer(), await startServer()];
    for (const server of servers) stops.push(server.stop);
    const pool = createH2SessionPool({ maxSessions: 2 });
    const first = await pool.session(servers[0]!.origin);
    await pool.session(servers[1]!.origin);
    await pool.session(servers[2]!.origin);
    while (!first.closed && !first.destroyed) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(first.closed || first.destroyed).toBe(true);
    // Asked again, the evicted origin gets a new connection.
    expect((await pool.session(servers[0]!.origin)) === first).toBe(false);
    expect(servers[0]!.connections()).toBe(2);
    pool.close();
  });
});
