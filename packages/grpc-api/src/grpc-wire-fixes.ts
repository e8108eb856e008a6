import type { IncomingHttpHeaders } from 'node:http2';
import type { UniversalServerResponse } from '@connectrpc/connect/protocol';

/**
 * Corrects what Connect writes on three points, for the gRPC, gRPC-Web and Connect protocols alike:
 *
 * - A request the caller got wrong is INVALID_ARGUMENT (Connect: `invalid_argument`, HTTP 400), where
 *   Connect answers INTERNAL: a message that is not valid protobuf ("parse binary: …") and a compressed
 *   envelope without a `grpc-encoding` ("received compressed envelope, but do not know how to
 *   decompress"). INTERNAL stays for the server's own faults, so an alert on it means something.
 * - `grpc-message` is percent-encoded as the gRPC HTTP/2 spec says (only bytes outside printable ASCII,
 *   and `%`). Connect encodes with `encodeURIComponent`, and @grpc/grpc-js (the seed product's TS client)
 *   decodes with `decodeURI`, which leaves `%2C` and other reserved characters encoded: clients would
 *   read "environment dev%2C not prod".
 *
 * The status lives in the trailers (gRPC), in the body's trailer frame (gRPC-Web) or in the JSON error
 * body with the HTTP status (Connect); each is rewritten where it is. Bodies are otherwise passed through
 * chunk by chunk, except a Connect error (a few hundred bytes).
 */
export async function fixUniversalResponse(
  response: UniversalServerResponse,
): Promise<UniversalServerResponse> {
  const contentType = response.header?.get('content-type') ?? '';
  if (response.trailer) fixTrailerHeaders(response.trailer);
  if (response.header?.has('grpc-status')) fixTrailerHeaders(response.header);
  if (!response.body) return response;
  if (contentType.startsWith('application/grpc-web'))
    return { ...response, body: fixGrpcWebTrailerFrames(response.body) };
  return settleConnectError(response);
}

/**
 * Longest deadline Node's timers can hold (2^31 − 1 ms, about 24.8 days). A longer `grpc-timeout` (the
 * spec allows up to 99,999,999 hours) would overflow `setTimeout` into 1 ms and fail the call at once
 * with DEADLINE_EXCEEDED; such a deadline means "no deadline", so the header is dropped.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/** Drops a `grpc-timeout` or `connect-timeout-ms` too long for a timer (see `MAX_TIMER_MS`); malformed ones stay, for Connect to refuse. */
export function dropUnboundedDeadlines(headers: IncomingHttpHeaders): void {
  const grpc = headers['grpc-timeout'];
  const match = typeof grpc === 'string' ? /^(\d{1,8})([HMSmun])$/.exec(grpc) : null;
  if (match && Number(match[1]) * GRPC_TIMEOUT_UNIT_MS[match[2]!]! > MAX_TIMER_MS)
    delete headers['grpc-timeout'];
  const connect = headers['connect-timeout-ms'];
  if (typeof connect === 'string' && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMER_MS)
    delete headers['connect-timeout-ms'];
}

const INTERNAL = '13';
const INVALID_ARGUMENT = '3';

/** Connect's INTERNAL for what is the caller's mistake: the message it sent, as rewritten for the caller. */
function callerMistake(message: string): string | undefined {
  if (message.startsWith('parse binary:'))
    return `the request message is not valid protobuf (${message.slice('parse binary:'.length).trim()})`;
  if (message.startsWith('received compressed envelope'))
    return 'the request message is flagged compressed, but the call names no grpc-encoding the server supports';
  return undefined;
}

function fixTrailerHeaders(headers: Headers): void {
  const encoded = headers.get('grpc-message');
  if (encoded === null) return;
  let message = decodeOrKeep(encoded);
  const rewritten = headers.get('grpc-status') === INTERNAL ? callerMistake(message) : undefined;
  if (rewritten !== undefined) {
    headers.set('grpc-status', INVALID_ARGUMENT);
    message = rewritten;
  }
  headers.set('grpc-message', percentEncode(message));
}

const TRAILER_FLAG = 0x80;

/** gRPC-Web's trailers travel as the body's last envelope (flag 0x80): `name: value\r\n` lines. */
async function* fixGrpcWebTrailerFrames(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield fixGrpcWebTrailerFrame(chunk);
}

/**
 * One envelope as Connect writes it (one chunk each). Only an uncompressed trailer frame is rewritten: a
 * compressed one (flag 0x81, a trailer over Connect's compression threshold) holds no status to fix, as
 * the messages rewritten here are short.
 */
function fixGrpcWebTrailerFrame(chunk: Uint8Array): Uint8Array {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  if (bytes.length < 5 || bytes[0] !== TRAILER_FLAG || bytes.readUInt32BE(1) !== bytes.length - 5)
    return chunk;
  const headers = new Headers();
  for (const line of bytes.subarray(5).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return chunk;
    }
  }
  fixTrailerHeaders(headers);
  let text = '';
  headers.forEach((value, name) => {
    text += `${name}: ${value}\r\n`;
  });
  const data = Buffer.from(text, 'latin1');
  const prefix = Buffer.alloc(5);
  prefix[0] = TRAILER_FLAG;
  prefix.writeUInt32BE(data.length, 1);
  return Buffer.concat([prefix, data]);
}

/**
 * Connect's unary error (HTTP 500, `{"code":"internal","message":…}`, small) read whole and rewritten when
 * it is the caller's mistake: the status line depends on the body, so this one cannot stream.
 */
async function settleConnectError(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  const contentType = response.header?.get('content-type') ?? '';
  if (response.status !== 500 || !contentType.startsWith('application/json') || !response.body)
    return response;
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const one = async function* (data: Uint8Array) {
    yield data;
  };
  let error: { code?: unknown; message?: unknown };
  try {
    error = JSON.parse(bytes.toString('utf8')) as typeof error;
  } catch {
    return { ...response, body: one(bytes) };
  }
  const rewritten =
    error.code === 'internal' && typeof error.message === 'string' ? callerMistake(error.message) : undefined;
  if (rewritten === undefined) return { ...response, body: one(bytes) };
  const data = Buffer.from(JSON.stringify({ ...error, code: 'invalid_argument', message: rewritten }));
  const header = new Headers(response.header);
  header.delete('content-length');
  return { ...response, status: 400, header, body: one(data) };
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The gRPC spec's Percent-Encoded: UTF-8 bytes outside 0x20–0x7E, and `%`, as `%XX`. */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
