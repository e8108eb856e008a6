/**
 * What the gRPC fuzzer (e2e/fuzz/grpc-fuzz.ts) found, each sent as raw HTTP/2 to a listening gRPC server:
 * a caller's malformed message or envelope answered INTERNAL (gRPC-Web and Connect; gRPC trailers were
 * already fixed), and a long but valid `grpc-timeout` failing at once. Expected statuses are the gRPC
 * spec's numbers and Connect's documented codes, not read from the server's code.
 */
import { type ClientHttp2Session, connect } from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { dropUnboundedDeadlines, OnlineQueryRequestSchema } from '@slate/grpc-api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryGateway } from '../gateway/query-gateway.ts';
import { createConcurrencyLimiter } from '../http/concurrency-limit.ts';
import { createOnlineStoreFeatureWriter } from '../http/feature-writer.ts';
import { createTestPlane } from '../http/fixtures/test-plane.ts';
import { createGrpcServer, type GrpcServer } from './grpc-server.ts';

let server: GrpcServer;
let session: ClientHttp2Session;
let token: string;

beforeAll(async () => {
  const plane = await createTestPlane();
  token = await plane.token();
  const gateway = createQueryGateway({
    served: plane.served,
    verifier: plane.verifier,
    limiter: createConcurrencyLimiter({ maxInFlight: 16 }),
    featureWriter: createOnlineStoreFeatureWriter(plane.onlineStore),
  });
  server = createGrpcServer({ gateway, logger: pino({ level: 'silent' }) });
  const port = await server.listen({ port: 0 });
  session = connect(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  session?.close();
  await server?.close();
});

interface Raw {
  readonly headers: Record<string, unknown>;
  readonly trailers: Record<string, unknown>;
  readonly body: Buffer;
}

function post(method: string, headers: Record<string, string>, body: Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': `/chalk.engine.v1.QueryService/${method}`,
      authorization: `Bearer ${token}`,
      te: 'trailers',
      ...headers,
    });
    let head: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve({ headers: head, trailers, body: Buffer.concat(chunks) }));
    stream.setTimeout(5_000, () => reject(new Error('no answer within 5 s')));
    stream.end(body);
  });
}

/** An online query of the quickstart's `user.name` (a resolver runs: it takes some milliseconds). */
const query = Buffer.from(
  toBinary(
    OnlineQueryRequestSchema,
    create(OnlineQueryRequestSchema, {
      inputs: { 'user.id': { kind: { case: 'numberValue', value: 3 } } },
      outputs: [{ expr: { case: 'featureFqn', value: 'user.name' } }],
    }),
  ),
);

/** gRPC's 5-byte envelope: flag, big-endian length. */
const envelope = (payload: Buffer, flag = 0) => {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};
/** Not protobuf: field 0 does not exist (tag 0x00), then a truncated varint. */
const notProtobuf = Buffer.from([0x00, 0xff]);
/** `PingRequest { num: 7 }`: field 1, varint 7. */
const ping = Buffer.from([0x08, 0x07]);

/** The gRPC-Web trailer frame (flag 0x80) of a body, as `name → value`. */
function webTrailers(body: Buffer): Record<string, string> {
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    if (body[at] === 0x80) {
      const text = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString('latin1');
      return Object.fromEntries(
        text
          .split('\r\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
    }
  }
  throw new Error(`no trailer frame in ${body.toString('base64')}`);
}

describe('a malformed request is INVALID_ARGUMENT on every protocol', () => {
  it('gRPC: a message that is not protobuf', async () => {
    const answer = await post('Ping', { 'content-type': 'application/grpc' }, envelope(notProtobuf));
    expect(answer.trailers['grpc-status']).toBe('3');
  });

  it('gRPC: an envelope flagged compressed, with no grpc-encoding', async () => {
    const answer = await post('Ping', { 'content-type': 'application/grpc' }, envelope(ping, 1));
    expect(answer.trailers['grpc-status']).toBe('3');
  });

  it('gRPC-Web: a message that is not protobuf, in the trailer frame', async () => {
    const answer = await post('Ping', { 'content-type': 'application/grpc-web' }, envelope(notProtobuf));
    const trailers = webTrailers(answer.body);
    expect(trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(trailers['grpc-message'] ?? '')).toContain('not valid protobuf');
  });

  it('Connect: a message that is not protobuf is HTTP 400 invalid_argument', async () => {
    const answer = await post('Ping', { 'content-type': 'application/proto' }, notProtobuf);
    expect(answer.headers[':status']).toBe(400);
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ code: 'invalid_argument' });
  });

  it('still answers a valid Ping on each protocol', async () => {
    const grpc = await post('Ping', { 'content-type': 'application/grpc' }, envelope(ping));
    expect(grpc.trailers['grpc-status']).toBe('0');
    const web = await post('Ping', { 'content-type': 'application/grpc-web' }, envelope(ping));
    expect(webTrailers(web.body)['grpc-status']).toBe('0');
    const connectAnswer = await post('Ping', { 'content-type': 'application/proto' }, ping);
    expect(connectAnswer.headers[':status']).toBe(200);
    expect([...connectAnswer.body]).toEqual([...ping]);
  });

  it('gRPC-Web with gzip: a long error whose trailer frame is compressed still completes', async () => {
    // An environment id of 4,000 characters makes the error message (and trailer frame) long enough to
    // be compressed; the answer must end (it hung when the compressed frame was parsed as text).
    const answer = await post(
      'OnlineQuery',
      {
        'content-type': 'application/grpc-web',
        'grpc-encoding': 'gzip',
        'grpc-accept-encoding': 'gzip',
        'x-chalk-env-id': 'x'.repeat(4_000),
      },
      envelope(query),
    );
    expect(answer.headers[':status']).toBe(200);
    // The trailer frame went out compressed (flag 0x81): the case this guards.
    const flags: number[] = [];
    for (let at = 0; at + 5 <= answer.body.length; at += 5 + answer.body.readUInt32BE(at + 1))
      flags.push(answer.body[at]!);
    expect(flags).toContain(0x81);
  });
});

describe('a grpc-timeout longer than a timer holds', () => {
  it('means no deadline: the call is answered, and no timer overflows into 1 ms', async () => {
    // 99,999,999 hours is the longest the spec allows; setTimeout overflowed it into a 1 ms deadline
    // (Node warns TimeoutOverflowWarning), which cancels any call that takes longer than that.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const answer = await post(
      'OnlineQuery',
      { 'content-type': 'application/grpc', 'grpc-timeout': '99999999H' },
      envelope(query),
    );
    expect(answer.trailers['grpc-status']).toBe('0');
    expect(answer.body.toString('latin1')).toContain('user.name');
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('drops only deadlines past 2^31 − 1 ms, and leaves malformed ones for Connect to refuse', () => {
    const headers = (value: string) => {
      const h: Record<string, string> = { 'grpc-timeout': value };
      dropUnboundedDeadlines(h);
      return h['grpc-timeout'];
    };
    expect(headers('596H')).toBe('596H'); // 2,145,600,000 ms: under 2^31 − 1
    expect(headers('597H')).toBeUndefined(); // 2,149,200,000 ms: over
    expect(headers('5S')).toBe('5S');
    expect(headers('abc')).toBe('abc');
  });
});
