import { Agent, request as httpRequest } from 'node:http';
import { type ClientHttp2Session, connect } from 'node:http2';
import fc from 'fast-check';
import type { FuzzMethod } from './grpc-fuzz-messages.ts';
import { byteMutation, hostileJson, hostileString } from './hostile-values.ts';

/** One generated call, as raw HTTP: the fuzzer speaks the wire protocols itself, not through a client. */
export interface GrpcFuzzCall {
  /** `/chalk.engine.v1.QueryService/Ping`. */
  readonly path: string;
  readonly protocol: 'grpc' | 'grpc-web' | 'connect-proto' | 'connect-json';
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** What the body is, for the failure line. */
  readonly shape: string;
}

/** Where the calls go and what they call. */
export interface GrpcFuzzTarget {
  /** `127.0.0.1:<port>`. */
  readonly authority: string;
  /**
   * `h2`: a cleartext HTTP/2 gRPC port (gRPC, gRPC-Web and Connect); `http1`: an HTTP/1.1 port answering
   * Connect and gRPC-Web (the metadata plane's HTTP port for `AuthService/GetToken`).
   */
  readonly transport: 'h2' | 'http1';
  readonly methods: readonly FuzzMethod[];
  /** The bearer token most calls carry. */
  readonly token: string;
  /** The method whose valid call must succeed after the run (the server still answers). */
  readonly alive: FuzzMethod;
}

export interface GrpcFuzzOptions {
  readonly seed: number;
  readonly runs: number;
  /** A call slower than this is a failure (default 5,000 ms). */
  readonly maxMs?: number;
  readonly onProgress?: (done: number) => void;
}

export interface GrpcFuzzReport {
  readonly requests: number;
  /** Outcomes by `protocol status` (gRPC status number, or Connect code). */
  readonly statuses: Readonly<Record<string, number>>;
  readonly failures: readonly string[];
  readonly slowestMs: number;
  readonly methodsHit: number;
  /** A valid call of `target.alive` answered after the run: the server is still alive. */
  readonly aliveAfter: boolean;
}

/** gRPC statuses that bad input must never produce: UNKNOWN, INTERNAL, DATA_LOSS. */
const FAULT_STATUSES = new Set(['2', '13', '15']);
const FAULT_CODES = new Set(['unknown', 'internal', 'data_loss']);

/** The message bytes of a call: valid, hostile values, flipped or cut bytes, random, another method's. */
function messageBytes(
  method: FuzzMethod,
  all: readonly FuzzMethod[],
): fc.Arbitrary<{ bytes: Buffer; shape: string }> {
  const tagged = (shape: string) => (bytes: Buffer) => ({ bytes, shape });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(method.valid).map(tagged('valid')) },
    { weight: 4, arbitrary: method.hostile.map(tagged('hostile-values')) },
    { weight: 4, arbitrary: byteMutation(method.valid).map(tagged('mutated')) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...all.map((m) => m.valid)).map(tagged('other-method')),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ bytes: Buffer.from(b), shape: 'random' })),
    },
  );
}

/** gRPC's length-prefixed framing, correct or broken. */
function framed(bytes: Buffer): fc.Arbitrary<{ body: Buffer; framing: string }> {
  const frame = (flag: number, length: number, payload: Buffer) => {
    const prefix = Buffer.alloc(5);
    prefix[0] = flag;
    prefix.writeUInt32BE(length >>> 0, 1);
    return Buffer.concat([prefix, payload]);
  };
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant({ body: frame(0, bytes.length, bytes), framing: 'ok' }) },
    fc.constant({ body: frame(1, bytes.length, bytes), framing: 'compressed-flag' }),
    fc.constant({ body: frame(0, bytes.length + 100, bytes), framing: 'short' }),
    fc.constant({ body: frame(0, 0xffffffff, bytes), framing: 'huge-length' }),
    fc.constant({
      body: Buffer.concat([frame(0, bytes.length, bytes), frame(0, bytes.length, bytes)]),
      framing: 'two-messages',
    }),
    fc.constant({ body: Buffer.alloc(0), framing: 'empty' }),
    fc
      .nat({ max: 4 })
      .map((n) => ({ body: frame(0, bytes.length, bytes).subarray(0, n), framing: 'cut-prefix' })),
  );
}

/** Printable-ASCII header values (HTTP/2 refuses others client-side), hostile in content. */
const headerValue = hostileString.map((s) =>
  s
    .slice(0, 4_000)
    .replace(/[^\x20-\x7e]/g, '?')
    .trim(),
);

function metadataFor(token: string): fc.Arbitrary<Record<string, string>> {
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant({ authorization: `Bearer ${token}` }) },
    fc.constant({}),
    fc.constantFrom({ authorization: 'Bearer x.y.z' }, { authorization: 'Basic Og==' }),
    headerValue.map((v) => ({ authorization: `Bearer ${v}` })),
    fc.constant({ authorization: `Bearer ${token.slice(0, -3)}abc` }),
  );
  const optional = (name: string, values: fc.Arbitrary<string>) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: values.map((v) => ({ [name]: v })) },
    );
  return fc
    .tuple(
      auth,
      optional('x-chalk-env-id', fc.oneof(fc.constantFrom('dev', 'prod', ''), headerValue)),
      optional('grpc-timeout', fc.constantFrom('5S', '1m', '0n', 'abc', '99999999H', '-1S', '1')),
      optional('x-chalk-timeout', fc.oneof(fc.constantFrom('2s', '-1', '1e309', 'NaN'), headerValue)),
      optional('x-chalk-query-name', headerValue),
      optional('grpc-encoding', fc.constantFrom('gzip', 'br', 'identity', 'snappy')),
      optional('grpc-accept-encoding', fc.constantFrom('gzip', 'zstd,gzip', '')),
      optional('connect-protocol-version', fc.constantFrom('1', '2', '')),
      optional('x-chalk-deployment-type', fc.constantFrom('engine-grpc', 'branch', '')),
    )
    .map((parts) => Object.assign({}, ...parts) as Record<string, string>);
}

const PROTOCOLS = {
  grpc: ['application/grpc', 'application/grpc+proto', 'application/grpc+json'],
  'grpc-web': ['application/grpc-web', 'application/grpc-web+proto'],
  'connect-proto': ['application/proto'],
  'connect-json': ['application/json'],
} as const;

const PROTOCOLS_OVER_HTTP1 = ['grpc-web', 'connect-proto', 'connect-json'] as const;

function callArbitrary(target: GrpcFuzzTarget): fc.Arbitrary<GrpcFuzzCall> {
  const protocols: readonly GrpcFuzzCall['protocol'][] =
    target.transport === 'h2' ? (Object.keys(PROTOCOLS) as GrpcFuzzCall['protocol'][]) : PROTOCOLS_OVER_HTTP1;
  return fc.constantFrom(...target.methods).chain((method) =>
    fc
      .tuple(fc.constantFrom(...protocols), messageBytes(method, target.methods), metadataFor(target.token))
      .chain(([protocol, { bytes, shape }, headers]): fc.Arbitrary<GrpcFuzzCall> => {
        const contentType = fc.constantFrom(...PROTOCOLS[protocol]);
        if (protocol === 'connect-json') {
          // A JSON body: the valid message as JSON, or any JSON text, or junk.
          return fc
            .tuple(
              contentType,
              fc.oneof(
                hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
                fc.string(),
              ),
            )
            .map(([type, text]) => ({
              path: method.path,
              protocol,
              headers: { ...headers, 'content-type': type },
              body: Buffer.from(text),
              shape: 'json',
            }));
        }
        const body =
          protocol === 'connect-proto' ? fc.constant({ body: bytes, framing: 'unary' }) : framed(bytes);
        return fc.tuple(contentType, body).map(([type, { body: payload, framing }]) => ({
          path: method.path,
          protocol,
          headers: { ...headers, 'content-type': type },
          body: payload,
          shape: `${shape}/${framing}`,
        }));
      }),
  );
}

interface Outcome {
  readonly httpStatus: number;
  /** gRPC status (trailers, headers or the grpc-web trailer frame) or the Connect error code; `ok` for success. */
  readonly status: string;
  readonly message: string;
}

function sendH2(session: ClientHttp2Session, call: GrpcFuzzCall, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ':method': 'POST',
        ':path': call.path,
        ...(call.protocol.startsWith('grpc') ? { te: 'trailers' } : {}),
        ...call.headers,
      },
      { signal },
    );
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const httpStatus = Number(headers[':status']);
      resolve({ httpStatus, ...statusOf(call.protocol, httpStatus, headers, trailers, body) });
    });
    stream.end(call.body);
  });
}

function sendHttp1(
  agent: Agent,
  authority: string,
  call: GrpcFuzzCall,
  signal: AbortSignal,
): Promise<Outcome> {
  const [host, port] = authority.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { agent, host, port: Number(port), method: 'POST', path: call.path, headers: call.headers, signal },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const httpStatus = response.statusCode ?? 0;
          const body = Buffer.concat(chunks);
          resolve({ httpStatus, ...statusOf(call.protocol, httpStatus, response.headers, {}, body) });
        });
      },
    );
    request.on('error', reject);
    request.end(call.body);
  });
}

function statusOf(
  protocol: GrpcFuzzCall['protocol'],
  httpStatus: number,
  headers: Record<string, unknown>,
  trailers: Record<string, unknown>,
  body: Buffer,
): { status: string; message: string } {
  if (protocol === 'grpc') {
    const status = trailers['grpc-status'] ?? headers['grpc-status'];
    const message = trailers['grpc-message'] ?? headers['grpc-message'];
    return { status: String(status ?? `http-${httpStatus}`), message: String(message ?? '') };
  }
  if (protocol === 'grpc-web') {
    if (headers['grpc-status'] !== undefined)
      return { status: String(headers['grpc-status']), message: String(headers['grpc-message'] ?? '') };
    // The trailers are the last frame of the body, flag 0x80, as HTTP/1-style header lines.
    for (let at = 0; at + 5 <= body.length; ) {
      const length = body.readUInt32BE(at + 1);
      if (body[at]! & 0x80) {
        const text = body.subarray(at + 5, at + 5 + length).toString('latin1');
        const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1];
        const message = /grpc-message:\s*([^\r\n]*)/i.exec(text)?.[1] ?? '';
        // A compressed trailer frame (flag 0x81) is not read here: its status is not counted.
        return { status: status ?? (body[at]! & 1 ? 'compressed-trailer' : 'no-status'), message };
      }
      at += 5 + length;
    }
    return { status: `http-${httpStatus}`, message: body.toString('utf8').slice(0, 200) };
  }
  if (httpStatus === 200) return { status: 'ok', message: '' };
  try {
    const error = JSON.parse(body.toString('utf8')) as { code?: string; message?: string };
    return { status: error.code ?? `http-${httpStatus}`, message: error.message ?? '' };
  } catch {
    return { status: `http-${httpStatus}`, message: body.toString('utf8').slice(0, 200) };
  }
}

/** What the target's transport needs to send a call, reset after a connection fails. */
function transportFor(target: GrpcFuzzTarget) {
  let session: ClientHttp2Session | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sessionNow = () => {
    if (!session || session.closed || session.destroyed) {
      session = connect(`http://${target.authority}`);
      session.on('error', () => {});
    }
    return session;
  };
  return {
    send: (call: GrpcFuzzCall, signal: AbortSignal) =>
      target.transport === 'h2'
        ? sendH2(sessionNow(), call, signal)
        : sendHttp1(agent, target.authority, call, signal),
    /** After a failed call: a new connection for the next (a reset stream alone keeps the session). */
    reset: (error: unknown) => {
      if ((error as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR') session?.destroy();
    },
    close: () => {
      session?.close();
      agent.destroy();
    },
  };
}

/** A valid call of `method` answered with success, waiting out rate limits (RESOURCE_EXHAUSTED) a few times. */
async function answersValidCall(
  target: GrpcFuzzTarget,
  transport: ReturnType<typeof transportFor>,
  maxMs: number,
): Promise<boolean> {
  const method = target.alive;
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(method.valid.length, 1);
  const call: GrpcFuzzCall =
    target.transport === 'h2'
      ? {
          path: method.path,
          protocol: 'grpc',
          headers: { 'content-type': 'application/grpc', authorization: `Bearer ${target.token}` },
          body: Buffer.concat([prefix, method.valid]),
          shape: 'valid',
        }
      : {
          path: method.path,
          protocol: 'connect-proto',
          headers: { 'content-type': 'application/proto', authorization: `Bearer ${target.token}` },
          body: method.valid,
          shape: 'valid',
        };
  for (let attempt = 0; attempt < 10; attempt++) {
    const outcome = await transport.send(call, AbortSignal.timeout(maxMs)).catch(() => undefined);
    if (outcome?.status === '0' || outcome?.status === 'ok') return true;
    if (outcome?.status !== '8' && outcome?.status !== 'resource_exhausted') return false;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return false;
}

/**
 * Sends `runs` generated calls to every method of `target` (h2c, or HTTP/1.1 for Connect and gRPC-Web),
 * over each protocol the transport carries: valid, hostile-valued, byte-mutated, truncated, random and
 * other-method (type-confused) messages, broken framing, and bad metadata. A failure is an UNKNOWN,
 * INTERNAL or DATA_LOSS status (Connect: `unknown`, `internal`, `data_loss`), an HTTP 5xx that carries no
 * status, a call over `maxMs` twice in a row, or a server that no longer answers a valid call of
 * `target.alive` at the end. Deterministic for a seed (batches of 50 drawn with `seed + batch`).
 */
export async function runGrpcFuzz(target: GrpcFuzzTarget, options: GrpcFuzzOptions): Promise<GrpcFuzzReport> {
  const maxMs = options.maxMs ?? 5_000;
  const arbitrary = callArbitrary(target);
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  const hit = new Set<string>();
  const transport = transportFor(target);
  let slowestMs = 0;
  let done = 0;
  try {
    for (let batch = 0; done < options.runs; batch++) {
      const calls = fc.sample(arbitrary, {
        seed: options.seed + batch,
        numRuns: Math.min(50, options.runs - done),
      });
      for (const [index, call] of calls.entries()) {
        const label = `#${batch}.${index} ${call.protocol} ${call.path} ${call.shape} ${JSON.stringify(call.headers).slice(0, 300)} base64:${call.body.toString('base64').slice(0, 600)}`;
        const sendTimed = async () => {
          const aborter = new AbortController();
          const timer = setTimeout(() => aborter.abort(), maxMs);
          const started = performance.now();
          let outcome: Outcome | 'hang' | 'reset';
          try {
            outcome = await transport.send(call, aborter.signal);
          } catch (error) {
            outcome = aborter.signal.aborted ? 'hang' : 'reset';
            // A stream reset by the server is a protocol answer (as to a frame over the size limit), unless
            // the whole connection went: that is checked by the next call and the final alive check.
            if (outcome === 'reset') transport.reset(error);
          } finally {
            clearTimeout(timer);
          }
          return { outcome, ms: performance.now() - started };
        };
        let { outcome, ms } = await sendTimed();
        if (outcome === 'hang' || ms > maxMs) {
          // On a loaded machine a call can wait for CPU: it is sent again, and fails only if slow twice.
          const again = await sendTimed();
          if (again.outcome !== 'hang' && again.ms <= maxMs) {
            statuses.slowOnce = (statuses.slowOnce ?? 0) + 1;
            ({ outcome, ms } = again);
          }
        }
        slowestMs = Math.max(slowestMs, ms);
        done++;
        hit.add(call.path);
        const key =
          typeof outcome === 'string' ? outcome : `${call.protocol.split('-')[0]} ${outcome.status}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (outcome === 'hang') failures.push(`HANG (> ${maxMs} ms, twice) ${label}`);
        else if (typeof outcome !== 'string') {
          const fault =
            FAULT_STATUSES.has(outcome.status) ||
            FAULT_CODES.has(outcome.status) ||
            (outcome.status.startsWith('http-') && outcome.httpStatus >= 500);
          if (fault) failures.push(`${outcome.status} ${outcome.message.slice(0, 200)} ← ${label}`);
          else if (ms > maxMs) failures.push(`SLOW ${Math.round(ms)} ms (twice) ${label}`);
        }
        if (done % 100 === 0) options.onProgress?.(done);
      }
    }
    return {
      requests: done,
      statuses,
      failures,
      slowestMs: Math.round(slowestMs),
      methodsHit: hit.size,
      aliveAfter: await answersValidCall(target, transport, maxMs),
    };
  } finally {
    transport.close();
  }
}
