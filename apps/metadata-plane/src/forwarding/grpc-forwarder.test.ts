/**
 * The gRPC forwarder against real HTTP/2 servers standing in for data-plane instances (each answers `Ping`
 * with its own number, written here as raw gRPC frames), through a @grpc/grpc-js client built from the
 * `.proto` files. Tokens are real EdDSA JWTs verified with jose.
 */

import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SlateError } from '@slate/graph';
import { freePort } from '@slate/testing';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataPlaneTargets } from './data-plane-targets.ts';
import { createGrpcForwarder, grpcTimeoutMs } from './grpc-forwarder.ts';
import { createH2SessionPool, type H2SessionPool } from './h2-session-pool.ts';

const protoDir = fileURLToPath(new URL('../../../../packages/grpc-api/proto', import.meta.url));
type Loose = ReturnType<typeof JSON.parse>;
type Client = grpc.Client & Record<string, Loose>;

/** A stand-in data-plane instance: records what it received and answers as `behave` says. */
interface Upstream {
  readonly url: string;
  readonly seen: { headers: IncomingHttpHeaders; body: Buffer; cancelled: boolean }[];
  behave: (stream: ServerHttp2Stream) => void;
  close(): Promise<void>;
}

/** A gRPC frame holding `PingResponse { num }` (field 1, varint), encoded by hand. */
function pingFrame(num: number): Buffer {
  const message = Buffer.from([0x08, num]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

const answerPing = (num: number) => (stream: ServerHttp2Stream) => {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(pingFrame(num));
};

async function startUpstream(num: number): Promise<Upstream> {
  const server = http2.createServer();
  const upstream: Upstream = {
    url: '',
    seen: [],
    behave: answerPing(num),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server.on('stream', (stream, headers) => {
    const record = { headers, body: Buffer.alloc(0), cancelled: false };
    upstream.seen.push(record);
    stream.on('data', (chunk: Buffer) => {
      record.body = Buffer.concat([record.body, chunk]);
    });
    stream.on('error', () => {}); // a reset it made itself
    stream.once('close', () => {
      record.cancelled = stream.rstCode === http2.constants.NGHTTP2_CANCEL;
    });
    upstream.behave(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The forwarder is handed HTTP base URLs; in these tests the gRPC origin is the same address.
  (upstream as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let secretKey: Key;
let verifyKey: Key;
let pool: H2SessionPool;
let a: Upstream;
let b: Upstream;
let order: string[] = [];
let hostServer: http2.Http2Server;
let client: Client;

const sign = (claims: Record<string, unknown>, key: Key = secretKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('5m').sign(key);

beforeAll(async () => {
  ({ privateKey: secretKey, publicKey: verifyKey } = await generateKeyPair('EdDSA'));
  [a, b] = [await startUpstream(1), await startUpstream(2)];
  pool = createH2SessionPool({ connectTimeoutMs: 1000 });
  // A fixed instance list: which instances are healthy is `createDataPlaneTargets`' job, tested beside it.
  const targets: DataPlaneTargets = { pick: async () => [...order] };
  const forwarder = createGrpcForwarder({
    // As the key ring does: a token that does not verify is an authentication error.
    verify: async (token) => {
      try {
        return (await jwtVerify(token, verifyKey)).payload;
      } catch {
        throw new SlateError('authentication', 'TOKEN_INVALID', 'the access token does not verify');
      }
    },
    targets,
    grpcOriginOf: (url) => url,
    pool,
    logger: pino({ level: 'silent' }),
    maxInFlight: 2,
    timeoutGraceMs: 200,
  });
  hostServer = http2.createServer((request, response) => forwarder.handle(request, response));
  await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
  const definition = protoLoader.loadSync('chalk/engine/v1/query_server.proto', {
    includeDirs: [protoDir],
    keepCase: true,
    defaults: true,
  });
  const Service = (grpc.loadPackageDefinition(definition) as Loose).chalk.engine.v1.QueryService;
  client = new Service(
    `127.0.0.1:${(hostServer.address() as AddressInfo).port}`,
    grpc.credentials.createInsecure(),
  );
});

afterEach(() => {
  a.behave = answerPing(1);
  b.behave = answerPing(2);
  a.seen.length = 0;
  b.seen.length = 0;
});

afterAll(async () => {
  client?.close();
  pool?.close();
  await new Promise<void>((resolve) => hostServer.close(() => resolve()));
  await a.close();
  await b.close();
});

async function ping(
  meta: Record<string, string>,
  deadlineMs?: number,
): Promise<{ error: grpc.ServiceError | null; num?: number }> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(meta)) metadata.set(key, value);
  const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
  return new Promise((resolve) =>
    client.Ping({ num: 5 }, metadata, options, (error: grpc.ServiceError | null, response: Loose) =>
      resolve({ error, num: response?.num }),
    ),
  );
}

describe('createGrpcForwarder', () => {
  it('forwards to the first instance picked, with the metadata headers and the message bytes', async () => {
    order = [a.url, b.url];
    const token = await sign({ env: 'dev' });
    const { error, num } = await ping(
      {
        authorization: `Bearer ${token}`,
        'x-chalk-env-id': 'dev',
        'x-chalk-deployment-type': 'engine-grpc',
        'x-request-id': 'req-42',
        cookie: 'session=secret',
      },
      5000,
    );
    expect(error).toBeNull();
    expect(num).toBe(1);
    const [seen] = a.seen;
    expect(seen?.headers).toMatchObject({
      ':path': '/chalk.engine.v1.QueryService/Ping',
      authorization: `Bearer ${token}`,
      'x-chalk-env-id': 'dev',
      'x-chalk-deployment-type': 'engine-grpc',
      'x-request-id': 'req-42',
      'x-forwarded-for': '127.0.0.1',
      te: 'trailers',
    });
    expect(seen?.headers.cookie).toBeUndefined();
    // What is left of a 5 s deadline, in ms.
    const left = grpcTimeoutMs(seen?.headers['grpc-timeout']);
    expect(left).toBeGreaterThan(3000);
    expect(left).toBeLessThanOrEqual(5000);
    // PingRequest { num: 5 } in one uncompressed frame: flag 0, length 2, field 1 varint 5.
    expect([...(seen?.body ?? [])]).toEqual([0, 0, 0, 0, 2, 0x08, 5]);
    expect(b.seen).toEqual([]);
  });

  it('sends a call whose connection fails to the next instance, and none further', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    order = [closed, b.url, a.url];
    const { error, num } = await ping({ authorization: `Bearer ${await sign({ env: 'dev' })}` });
    expect(error).toBeNull();
    expect(num).toBe(2);
    expect(a.seen).toEqual([]);
  });

  it('answers UNAVAILABLE when no instance can be reached', async () => {
    order = [`http://127.0.0.1:${await freePort()}`];
    const { error } = await ping({ authorization: `Bearer ${await sign({ env: 'dev' })}` });
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error?.metadata.get('x-slate-error-code')).toEqual(['DATA_PLANE_UNAVAILABLE']);
  });

  it('refuses a missing, forged or environment-less token UNAUTHENTICATED / INVALID_ARGUMENT, forwarding nothing', async () => {
    order = [a.url];
    const none = await ping({});
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const { privateKey: other } = await generateKeyPair('EdDSA');
    const forged = await ping({ authorization: `Bearer ${await sign({ env: 'dev' }, other)}` });
    expect(forged.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(forged.error?.metadata.get('x-slate-error-code')).toEqual(['TOKEN_INVALID']);
    const noEnv = await ping({ authorization: `Bearer ${await sign({})}` });
    expect(noEnv.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noEnv.error?.metadata.get('x-slate-error-code')).toEqual(['ENVIRONMENT_REQUIRED']);
    expect(a.seen).toEqual([]);
  });

  it('passes on a trailers-only status from the data plane, its message decoded as it was sent', async () => {
    order = [a.url];
    a.behave = (stream) =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '7',
          // Percent-encoded as the gRPC spec says (the wire fixes of @slate/grpc-api): only non-ASCII and %.
          'grpc-message': 'environment pr%C3%A9, not dev',
          'x-slate-error-code': 'ENVIRONMENT_MISMATCH',
        },
        { endStream: true },
      );
    const { error } = await ping({ authorization: `Bearer ${await sign({ env: 'dev' })}` });
    expect(error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(error?.details).toBe('environment pré, not dev');
    expect(error?.metadata.get('x-slate-error-code')).toEqual(['ENVIRONMENT_MISMATCH']);
  });

  it('answers UNAVAILABLE when the data plane resets the call', async () => {
    order = [a.url];
    a.behave = (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    const { error } = await ping({ authorization: `Bearer ${await sign({ env: 'dev' })}` });
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('cuts a data plane that outlives the deadline (+ grace), and cancels its stream', async () => {
    order = [a.url];
    a.behave = () => {}; // never answers
    const started = Date.now();
    const { error } = await ping({ authorization: `Bearer ${await sign({ env: 'dev' })}` }, 300);
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(a.seen[0]?.cancelled).toBe(true);
  });

  it('answers RESOURCE_EXHAUSTED beyond its in-flight bound (2 here), with retry-after', async () => {
    order = [a.url];
    const hold: ServerHttp2Stream[] = [];
    a.behave = (stream) => hold.push(stream);
    const token = await sign({ env: 'dev' });
    const first = ping({ authorization: `Bearer ${token}` });
    const second = ping({ authorization: `Bearer ${token}` });
    while (hold.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const third = await ping({ authorization: `Bearer ${token}` });
    expect(third.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(third.error?.metadata.get('retry-after')).toEqual(['1']);
    for (const stream of hold) answerPing(9)(stream);
    expect((await first).num).toBe(9);
    expect((await second).num).toBe(9);
  });
});

describe('grpcTimeoutMs', () => {
  it('reads the gRPC spec units and refuses anything else', () => {
    expect(grpcTimeoutMs('2S')).toBe(2000);
    expect(grpcTimeoutMs('1500m')).toBe(1500);
    expect(grpcTimeoutMs('1M')).toBe(60_000);
    expect(grpcTimeoutMs('1H')).toBe(3_600_000);
    expect(grpcTimeoutMs('2000u')).toBe(2);
    expect(grpcTimeoutMs('123456789m')).toBeUndefined();
    expect(grpcTimeoutMs('5')).toBeUndefined();
    expect(grpcTimeoutMs(undefined)).toBeUndefined();
  });
});
