import { type ClientHttp2Session, connect } from 'node:http2';
import { create, type DescMessage, fromJson, type JsonValue, toBinary } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { QueryService } from '@slate/grpc-api';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { byteMutation, hostileJson, hostileString } from './hostile-values.ts';

/** One generated call, as raw HTTP/2: the fuzzer speaks the wire protocols itself, not through a client. */
export interface GrpcFuzzCall {
  readonly method: string;
  readonly protocol: 'grpc' | 'grpc-web' | 'connect-proto' | 'connect-json';
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** What the body is, for the failure line. */
  readonly shape: string;
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
  /** A valid Ping answered after the run: the server is still alive. */
  readonly aliveAfter: boolean;
}

const methods = QueryService.methods;
/** gRPC statuses that bad input must never produce: UNKNOWN, INTERNAL, DATA_LOSS. */
const FAULT_STATUSES = new Set(['2', '13', '15']);
const FAULT_CODES = new Set(['unknown', 'internal', 'data_loss']);

const arrow = (columns: Record<string, unknown[]>) =>
  tableToIPC(tableFromArrays(columns as Parameters<typeof tableFromArrays>[0]), 'stream');

/** A valid request of each method over `fuzz-repo.ts`, as the message's init object. */
const VALID: Readonly<Record<string, Record<string, unknown>>> = {
  Ping: { num: 7 },
  OnlineQuery: {
    inputs: { 'user.id': { kind: { case: 'numberValue', value: 3 } } },
    outputs: [{ expr: { case: 'featureFqn', value: 'user.name' } }],
    responseOptions: { includeMeta: true },
  },
  OnlineQueryBulk: {
    inputsFeather: arrow({ 'user.id': [1, 2, 3] }),
    outputs: [
      { expr: { case: 'featureFqn', value: 'user.name' } },
      { expr: { case: 'featureFqn', value: 'user.risk_score' } },
    ],
  },
  OnlineQueryMulti: {
    queries: [
      {
        query: {
          case: 'singleRequest',
          value: {
            inputs: { 'user.id': { kind: { case: 'numberValue', value: 4 } } },
            outputs: [{ expr: { case: 'featureFqn', value: 'user.risk_score' } }],
          },
        },
      },
    ],
  },
  UploadFeaturesBulk: { inputsFeather: arrow({ 'user.id': [50, 51], 'user.nickname': ['a', 'b'] }) },
  UploadFeatures: { inputsTable: arrow({ 'user.id': [60], 'user.nickname': ['c'] }) },
};

const validBytes = new Map(
  methods.map((m) => [m.name, Buffer.from(toBinary(m.input, create(m.input, VALID[m.name] as never)))]),
);

/** A protobuf Value from any JSON; numbers JSON cannot carry become strings. */
const toValue = (json: unknown) => {
  try {
    return fromJson(ValueSchema, json as JsonValue);
  } catch {
    return fromJson(ValueSchema, String(json));
  }
};

/** The message of `method` with hostile values in its strings, maps and numbers, encoded. */
function hostileMessage(input: DescMessage, name: string): fc.Arbitrary<Buffer> {
  const value = hostileJson.map(toValue);
  const str = hostileString.map((s) => s.slice(0, 20_000));
  const outputs = fc.array(
    str.map((s) => ({ expr: { case: 'featureFqn', value: s } })),
    { maxLength: 4 },
  );
  const single = fc.record({
    inputs: fc.dictionary(fc.oneof(str, fc.constantFrom('user.id', 'user.name')), value, { maxKeys: 4 }),
    outputs,
    staleness: fc.dictionary(str, str, { maxKeys: 2 }),
    now: fc.option(
      fc.record({
        seconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        nanos: fc.integer(),
      }),
      { nil: undefined },
    ),
    context: fc.record({ tags: fc.array(str, { maxLength: 3 }), correlationId: str, queryName: str }),
    responseOptions: fc.record({
      includeMeta: fc.boolean(),
      metadata: fc.dictionary(str, str, { maxKeys: 2 }),
    }),
  });
  const table = byteMutation(Buffer.from(arrow({ 'user.id': [1, 2], 'user.nickname': ['x', 'y'] })));
  const bulk = fc.record({
    inputsFeather: table,
    outputs,
    bodyType: fc.integer({ min: -1, max: 99 }),
    now: fc.array(fc.record({ seconds: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }) }), { maxLength: 3 }),
  });
  const init: Record<string, fc.Arbitrary<unknown>> = {
    Ping: fc.record({ num: fc.integer() }),
    OnlineQuery: single,
    OnlineQueryBulk: bulk,
    OnlineQueryMulti: fc.record({
      queries: fc.array(
        fc.oneof(
          single.map((value) => ({ query: { case: 'singleRequest', value } })),
          bulk.map((value) => ({ query: { case: 'bulkRequest', value } })),
          fc.constant({}),
        ),
        { maxLength: 70 },
      ),
    }),
    UploadFeaturesBulk: fc.record({ inputsFeather: table, bodyType: fc.integer({ min: -1, max: 99 }) }),
    UploadFeatures: fc.record({ inputsTable: table }),
  };
  return init[name]!.map((fields) => {
    try {
      return Buffer.from(toBinary(input, create(input, fields as never)));
    } catch {
      return validBytes.get(name)!;
    }
  });
}

/** The message bytes of a call: valid, hostile values, flipped or cut bytes, random, another method's. */
function messageBytes(name: string, input: DescMessage): fc.Arbitrary<{ bytes: Buffer; shape: string }> {
  const valid = validBytes.get(name)!;
  const tagged = (shape: string) => (bytes: Buffer) => ({ bytes, shape });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(valid).map(tagged('valid')) },
    { weight: 4, arbitrary: hostileMessage(input, name).map(tagged('hostile-values')) },
    { weight: 4, arbitrary: byteMutation(valid).map(tagged('mutated')) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...validBytes.values()).map(tagged('other-method')),
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

function callArbitrary(token: string): fc.Arbitrary<GrpcFuzzCall> {
  return fc.constantFrom(...methods).chain((method) =>
    fc
      .tuple(
        fc.constantFrom(...(Object.keys(PROTOCOLS) as GrpcFuzzCall['protocol'][])),
        messageBytes(method.name, method.input),
        metadataFor(token),
      )
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
              method: method.name,
              protocol,
              headers: { ...headers, 'content-type': type },
              body: Buffer.from(text),
              shape: 'json',
            }));
        }
        const body =
          protocol === 'connect-proto' ? fc.constant({ body: bytes, framing: 'unary' }) : framed(bytes);
        return fc.tuple(contentType, body).map(([type, { body: payload, framing }]) => ({
          method: method.name,
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

function send(session: ClientHttp2Session, call: GrpcFuzzCall, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ':method': 'POST',
        ':path': `/${QueryService.typeName}/${call.method}`,
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

/**
 * Sends `runs` generated calls to every `chalk.engine.v1.QueryService` method at `authority` (h2c), over the
 * gRPC, gRPC-Web and Connect protocols: valid, hostile-valued, byte-mutated, truncated, random and
 * other-method (type-confused) messages, broken framing, and bad metadata. A failure is an UNKNOWN,
 * INTERNAL or DATA_LOSS status (Connect: `unknown`, `internal`, `data_loss`), an HTTP 5xx that carries no
 * status, a call over `maxMs` twice in a row, or a server that no longer answers a valid Ping at the end. Deterministic
 * for a seed (batches of 50 drawn with `seed + batch`).
 */
export async function runGrpcFuzz(
  authority: string,
  token: string,
  options: GrpcFuzzOptions,
): Promise<GrpcFuzzReport> {
  const maxMs = options.maxMs ?? 5_000;
  const arbitrary = callArbitrary(token);
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  const hit = new Set<string>();
  let session: ClientHttp2Session | undefined;
  const sessionNow = () => {
    if (!session || session.closed || session.destroyed) {
      session = connect(`http://${authority}`);
      session.on('error', () => {});
    }
    return session;
  };
  let slowestMs = 0;
  let done = 0;
  try {
    for (let batch = 0; done < options.runs; batch++) {
      const calls = fc.sample(arbitrary, {
        seed: options.seed + batch,
        numRuns: Math.min(50, options.runs - done),
      });
      for (const [index, call] of calls.entries()) {
        const label = `#${batch}.${index} ${call.protocol} ${call.method} ${call.shape} ${JSON.stringify(call.headers).slice(0, 300)} base64:${call.body.toString('base64').slice(0, 600)}`;
        const sendTimed = async () => {
          const aborter = new AbortController();
          const timer = setTimeout(() => aborter.abort(), maxMs);
          const started = performance.now();
          let outcome: Outcome | 'hang' | 'reset';
          try {
            outcome = await send(sessionNow(), call, aborter.signal);
          } catch (error) {
            outcome = aborter.signal.aborted ? 'hang' : 'reset';
            // A stream reset by the server is a protocol answer (as to a frame over the size limit), unless
            // the whole connection went: that is checked by the next call and the final Ping.
            if (outcome === 'reset' && (error as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR')
              session?.destroy();
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
        hit.add(call.method);
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
    const ping = await send(
      sessionNow(),
      {
        method: 'Ping',
        protocol: 'grpc',
        headers: { 'content-type': 'application/grpc', authorization: `Bearer ${token}` },
        body: Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), validBytes.get('Ping')!]),
        shape: 'valid',
      },
      AbortSignal.timeout(maxMs),
    ).catch(() => undefined);
    return {
      requests: done,
      statuses,
      failures,
      slowestMs: Math.round(slowestMs),
      methodsHit: hit.size,
      aliveAfter: ping?.status === '0',
    };
  } finally {
    session?.close();
  }
}

/** Methods of `chalk.engine.v1.QueryService` (a run must reach each). */
export const GRPC_METHOD_COUNT = methods.length;
