import { randomUUID } from 'node:crypto';
import http2, { type ClientHttp2Stream, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { ConnectError } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { trailerFlag, trailerSerialize } from '@connectrpc/connect/protocol-grpc-web';
import { SlateError } from '@slate/graph';
import { type GrpcStatus, grpcStatusOf, percentEncode } from '@slate/grpc-api';
import type { Logger } from 'pino';
import type { DataPlaneTargets } from './data-plane-targets.ts';
import type { H2SessionPool } from './h2-session-pool.ts';

/** Request headers that describe one hop, never passed on; `te: trailers` is gRPC's own and is kept. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'cookie',
  'x-request-id',
  'x-forwarded-for',
]);

/** A request id the API host passes on as the caller's own: short, printable, no separators. */
const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface GrpcForwarderOptions {
  /** Verifies the bearer JWT (signature, issuer, expiry) before anything is forwarded. */
  readonly verify: (token: string) => Promise<Record<string, unknown>>;
  /** Healthy query instances of an environment's data plane (base HTTP URLs), round robin. */
  readonly targets: DataPlaneTargets;
  /** The gRPC origin (`http://host:port`, h2c) of the instance whose HTTP base URL is given. */
  readonly grpcOriginOf: (httpUrl: string) => string;
  readonly pool: H2SessionPool;
  readonly logger: Logger;
  /** Calls forwarded at once (default 1,024); more get RESOURCE_EXHAUSTED (`TOO_MANY_REQUESTS`, `retry-after: 1`). */
  readonly maxInFlight?: number;
  /** Longest wait for a call that sets no `grpc-timeout` (default 60 s). */
  readonly defaultTimeoutMs?: number;
  /** Longest wait whatever `grpc-timeout` asks (default 300 s). */
  readonly maxTimeoutMs?: number;
  /**
   * Added to the caller's deadline before the API host cuts a call (default 1 s): the data plane enforces
   * `grpc-timeout` itself and answers DEADLINE_EXCEEDED, so the API host cuts only one that did not.
   */
  readonly timeoutGraceMs?: number;
}

/** Forwards gRPC calls, one HTTP/2 stream each, to the data plane serving the caller's environment. */
export interface GrpcForwarder {
  /** Handles one call (a request on the API host's HTTP/2 server); never throws. */
  handle(request: Http2ServerRequest, response: Http2ServerResponse): void;
  /** Calls being forwarded now. */
  readonly inFlight: number;
}

/**
 * The API host's gRPC forwarding (ADR 0013): each call's bearer JWT is verified here, its `env` claim picks
 * the data plane, and the call goes, as an HTTP/2 stream on a shared connection, to one of that data
 * plane's healthy query instances (round robin). Bodies and trailers stream both ways untouched, so every
 * metadata header (`authorization`, `x-chalk-*`, `grpc-timeout`) reaches the data plane, which applies
 * revocations, permissions and `x-chalk-env-id` as for a direct call. A call whose connection could not be
 * made goes to the next instance (at most three; nothing was sent); a call that reached a data plane is
 * never retried. The API host's own failures are gRPC statuses (UNAUTHENTICATED, UNAVAILABLE,
 * RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) with `x-slate-error-code`.
 *
 * @example
 * const forwarder = createGrpcForwarder({ verify, targets, grpcOriginOf, pool, logger });
 * server.on('request', (req, res) => forwarder.handle(req, res));
 */
export function createGrpcForwarder(options: GrpcForwarderOptions): GrpcForwarder {
  const maxInFlight = options.maxInFlight ?? 1024;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? 300_000;
  const graceMs = options.timeoutGraceMs ?? 1000;
  let inFlight = 0;

  const environmentOf = async (authorization: string | undefined): Promise<string> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new SlateError(
        'authentication',
        'AUTHENTICATION_REQUIRED',
        'an authorization: Bearer <token> metadata entry is required',
      );
    }
    const claims = await options.verify(token);
    if (typeof claims.env !== 'string' || claims.env === '') {
      throw new SlateError(
        'input',
        'ENVIRONMENT_REQUIRED',
        'the access token names no environment: exchange a service token (or log in to an environment) to query through the API host',
      );
    }
    return claims.env;
  };

  const forward = async (request: Http2ServerRequest, response: Http2ServerResponse): Promise<void> => {
    const started = Date.now();
    // Auth before the bound, as for HTTP: an unauthenticated caller learns only that.
    const environmentId = await environmentOf(request.headers.authorization);
    if (inFlight >= maxInFlight) {
      throw new SlateError(
        'rate_limited',
        'TOO_MANY_REQUESTS',
        `the API host is forwarding ${maxInFlight} calls already: retry shortly or call the data plane directly`,
        { retryAfterS: 1 },
      );
    }
    inFlight++;
    try {
      await forwardTo(environmentId, started, request, response);
    } finally {
      inFlight--;
    }
  };

  const forwardTo = async (
    environmentId: string,
    started: number,
    request: Http2ServerRequest,
    response: Http2ServerResponse,
  ): Promise<void> => {
    const asked = grpcTimeoutMs(request.headers['grpc-timeout']);
    const budgetMs = Math.min(asked ?? defaultTimeoutMs, maxTimeoutMs);
    const urls = await options.targets.pick(environmentId);
    let upstream: ClientHttp2Stream | undefined;
    let lastError: unknown;
    for (const url of urls.slice(0, 3)) {
      try {
        const session = await options.pool.session(options.grpcOriginOf(url));
        if (response.stream.closed) return;
        const remainingMs = Math.max(1, budgetMs - (Date.now() - started));
        upstream = session.request(requestHeaders(request, asked === undefined ? undefined : remainingMs));
        break;
      } catch (error) {
        lastError = error;
        if (!(error instanceof SlateError && error.details?.connectFailed === true)) break;
      }
    }
    if (!upstream) throw lastError;
    await relay(request, response, upstream, budgetMs - (Date.now() - started) + graceMs);
  };

  const relay = (
    request: Http2ServerRequest,
    response: Http2ServerResponse,
    upstream: ClientHttp2Stream,
    waitMs: number,
  ): Promise<void> =>
    new Promise((resolve) => {
      let trailers: Record<string, string | string[]> | undefined;
      let done = false;
      const finish = (status?: GrpcStatus) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (status) {
          upstream.unpipe(response);
          if (!upstream.closed) upstream.close(http2.constants.NGHTTP2_CANCEL);
          sendStatus(response, status);
        } else {
          if (trailers) response.addTrailers(trailers);
          else if (protocolOf(response) === 'grpc') {
            // gRPC-Web and Connect carry their status in the body or the HTTP status, already relayed.
            if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/grpc' });
            response.addTrailers({
              'grpc-status': '14',
              'grpc-message': 'the data plane ended the call without a status',
            });
          }
          response.end();
        }
        resolve();
      };
      const timer = setTimeout(
        () =>
          finish(
            grpcStatusOf(
              new SlateError(
                'timeout',
                'DATA_PLANE_TIMEOUT',
                `the data plane did not answer within ${Math.round(waitMs)} ms`,
              ),
              () => {},
            ),
          ),
        Math.max(1, waitMs),
      );
      // The caller went away: the data plane's stream is cancelled, so its work stops too.
      response.once('close', () => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          upstream.close(http2.constants.NGHTTP2_CANCEL);
          resolve();
        }
      });
      request.pipe(upstream);
      upstream.on('response', (headers, flags) => {
        const { status, rest, grpc, trailers: all } = splitResponseHeaders(headers);
        // A trailers-only answer (a status and no message) is re-sent as headers then trailers: the form
        // every gRPC client reads, whichever way the data plane's server wrote it. Its metadata
        // (`x-slate-error-code`, `retry-after`) is trailing metadata, so it goes with the status.
        if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 && grpc['grpc-status'] !== undefined) {
          const { 'content-type': contentType = 'application/grpc', ...trailing } = all;
          response.writeHead(status, { 'content-type': contentType });
          trailers = trailing;
          return;
        }
        response.writeHead(status, { ...rest, ...grpc });
      });
      upstream.on('trailers', (headers) => {
        trailers = splitResponseHeaders(headers).trailers;
      });
      upstream.pipe(response, { end: false });
      upstream.once('close', () => {
        if (trailers || upstream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return finish();
        finish(
          grpcStatusOf(
            new SlateError(
              'unavailable',
              'DATA_PLANE_UNAVAILABLE',
              `the data plane reset the call (HTTP/2 error ${upstream.rstCode})`,
              { retryAfterS: 1 },
            ),
            () => {},
          ),
        );
      });
      upstream.on('error', () => {
        // The 'close' that follows says what the caller gets.
      });
    });

  return {
    get inFlight() {
      return inFlight;
    },
    handle(request, response) {
      forward(request, response).catch((error: unknown) =>
        sendStatus(
          response,
          grpcStatusOf(error, (cause) =>
            options.logger.error({ err: cause, path: request.url }, 'gRPC forwarding failed'),
          ),
        ),
      );
    },
  };
}

/** The protocol of a call, from its content type: gRPC, gRPC-Web, or Connect (anything else). */
function protocolOf(response: Http2ServerResponse): 'grpc' | 'grpc-web' | 'connect' {
  const contentType = String(response.req?.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('application/grpc-web')) return 'grpc-web';
  return contentType.startsWith('application/grpc') ? 'grpc' : 'connect';
}

/**
 * A gRPC status as the whole answer, in the caller's protocol, unless the caller left: gRPC puts it in
 * HTTP/2 trailers, gRPC-Web in a trailer frame at the end of the body (browsers cannot read trailers), and
 * Connect as an HTTP error status with a JSON body (`{code, message}`), which is what its clients read — a
 * gRPC trailer alone made a Connect client see 200 with an empty message.
 */
export function sendStatus(response: Http2ServerResponse, status: GrpcStatus): void {
  if (response.stream.closed || response.writableEnded) return;
  const protocol = protocolOf(response);
  if (protocol === 'grpc-web') {
    if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/grpc-web+proto' });
    const trailer = trailerSerialize(
      new Headers({
        'grpc-status': String(status.code),
        'grpc-message': percentEncode(status.message),
        ...status.metadata,
      }),
    );
    const frame = Buffer.alloc(5 + trailer.length);
    frame[0] = trailerFlag;
    frame.writeUInt32BE(trailer.length, 1);
    frame.set(trailer, 5);
    response.end(frame);
    return;
  }
  if (protocol === 'connect') {
    if (!response.headersSent)
      response.writeHead(codeToHttpStatus(status.code), {
        'content-type': 'application/json',
        ...status.metadata,
      });
    response.end(Buffer.from(errorToJsonBytes(new ConnectError(status.message, status.code), undefined)));
    return;
  }
  if (!response.headersSent) response.writeHead(200, { 'content-type': 'application/grpc' });
  response.addTrailers({
    'grpc-status': String(status.code),
    'grpc-message': percentEncode(status.message),
    ...status.metadata,
  });
  response.end();
}

function requestHeaders(
  request: Http2ServerRequest,
  timeoutMs: number | undefined,
): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  out[':method'] = 'POST';
  out[':path'] = request.headers[':path'];
  // What is left of the caller's deadline, so the data plane stops when the caller stops waiting.
  if (timeoutMs !== undefined) out['grpc-timeout'] = `${Math.ceil(timeoutMs)}m`;
  else delete out['grpc-timeout'];
  const id = request.headers['x-request-id'];
  out['x-request-id'] = typeof id === 'string' && SANE_REQUEST_ID.test(id) ? id : randomUUID();
  const prior = request.headers['x-forwarded-for'];
  const ip = request.socket?.remoteAddress ?? '';
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${ip}` : ip;
  return out;
}

const GRPC_STATUS_HEADERS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

function splitResponseHeaders(headers: http2.IncomingHttpHeaders): {
  status: number;
  rest: Record<string, string | string[]>;
  grpc: Record<string, string | string[]>;
  trailers: Record<string, string | string[]>;
} {
  const rest: Record<string, string | string[]> = {};
  const grpc: Record<string, string | string[]> = {};
  const trailers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    trailers[name] = value;
    if (GRPC_STATUS_HEADERS.has(name)) grpc[name] = value;
    else rest[name] = value;
  }
  return { status: Number(headers[':status'] ?? 200), rest, grpc, trailers };
}

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/** `grpc-timeout` (gRPC over HTTP/2: up to 8 digits and a unit) in ms; undefined when absent or unreadable. */
export function grpcTimeoutMs(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text ?? '');
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2]!] ?? 1);
}
