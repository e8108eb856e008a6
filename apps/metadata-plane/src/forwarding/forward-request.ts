import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { SlateError } from '@slate/graph';

/** Headers that describe one hop's connection, never passed on (RFC 9110 §7.6.1), plus what we set. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  // The data plane authenticates bearer tokens only; a browser session must not travel further.
  'cookie',
]);

/** Connection failures after which an idempotent request may go to another instance (nothing was answered). */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
]);

/** One request to pass on. */
export interface ForwardedRequest {
  readonly method: string;
  /** Path and query string, as the client sent them. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body, streamed (null for a request without one). */
  readonly body: Readable | null;
  /** The correlation id the API host logged the request under (sent as `X-Request-Id`). */
  readonly requestId: string;
  readonly clientIp: string;
  /** Time allowed until the data plane's response headers arrive. */
  readonly timeoutMs: number;
  /** Aborted when the client goes away: the forwarded request is cut too. */
  readonly signal: AbortSignal;
}

/** A data plane's answer: status, headers to pass back, and the body, still streaming. */
export interface ForwardedResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: IncomingMessage;
}

/**
 * Sends one request to one base URL over `agent` and resolves with the response as soon as its headers
 * arrive; the body streams both ways (nothing is buffered here beyond the sockets' own high-water marks).
 *
 * @throws SlateError `DATA_PLANE_TIMEOUT` (timeout) when no response headers arrive within `timeoutMs`;
 *   `DATA_PLANE_UNAVAILABLE` (unavailable) when the connection fails, with `details.connectFailed` true when
 *   the request never reached the data plane (only then may an idempotent request be tried elsewhere).
 */
export function forwardOnce(
  baseUrl: string,
  request: ForwardedRequest,
  agents: { readonly http: http.Agent; readonly https: https.Agent },
): Promise<ForwardedResponse> {
  const target = new URL(request.path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  // `new URL('/v1/x', 'http://h/prefix/')` drops the prefix; a data plane behind a path keeps it.
  const base = new URL(baseUrl);
  if (base.pathname !== '/' && base.pathname !== '') {
    target.pathname = `${base.pathname.replace(/\/$/, '')}${new URL(request.path, 'http://x').pathname}`;
  }
  const headers = forwardHeaders(request);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: SlateError) => {
      if (settled) return;
      settled = true;
      outgoing.destroy();
      reject(error);
    };
    const outgoing = transport.request(target, {
      method: request.method,
      headers,
      agent: target.protocol === 'https:' ? agents.https : agents.http,
      signal: request.signal,
    });
    const timer = setTimeout(
      () =>
        fail(
          new SlateError(
            'timeout',
            'DATA_PLANE_TIMEOUT',
            `the data plane did not answer within ${request.timeoutMs} ms`,
            { timeout_ms: request.timeoutMs },
          ),
        ),
      request.timeoutMs,
    );
    outgoing.on('response', (response) => {
      clearTimeout(timer);
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      resolve({
        status: response.statusCode ?? 502,
        headers: responseHeaders(response.headers),
        body: response,
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Only a GET is ever retried elsewhere, so a reset on a reused keep-alive socket counts too.
      const connectFailed = error.code !== undefined && CONNECT_FAILURES.has(error.code);
      fail(
        new SlateError(
          'unavailable',
          'DATA_PLANE_UNAVAILABLE',
          `the data plane at ${base.host} could not be reached (${error.code ?? error.message})`,
          { connectFailed, retryAfterS: 1 },
          { cause: error },
        ),
      );
    });
    if (request.body) {
      request.body.on('error', () => outgoing.destroy());
      request.body.pipe(outgoing);
    } else outgoing.end();
  });
}

function forwardHeaders(request: ForwardedRequest): Record<string, string | string[]> {
  const connectionTokens = new Set(
    String(request.headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
    out[name] = value;
  }
  out['x-request-id'] = request.requestId;
  const prior = request.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${request.clientIp}` : request.clientIp;
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    // The API host sets its own request id and security headers on the way out.
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-request-id' || name === 'set-cookie')
      continue;
    out[name] = value;
  }
  return out;
}
