import http from 'node:http';
import https from 'node:https';
import { parseDuration, SlateError } from '@slate/graph';
import { type ErrorMapperOptions, sendHttpError } from '@slate/http-edge';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { issueUserAccessToken, sessionPrincipal } from '../auth/users.ts';
import type { MetadataPlaneContext } from '../context.ts';
import { CSRF_HEADER, SESSION_COOKIE } from '../http/route.ts';
import { createDataPlaneTargets, type DataPlaneTargets } from './data-plane-targets.ts';
import { type ForwardedResponse, forwardOnce } from './forward-request.ts';

/**
 * The data-plane routes the API host serves by forwarding (chalk.md §3): a client configured with only
 * `api_server` reaches its environment's engine through them. Who-am-i is answered by the API host itself.
 */
export const FORWARDED_ROUTES: readonly {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
}[] = [
  { method: 'POST', url: '/v1/query/online' },
  { method: 'POST', url: '/v1/query/feather' },
  { method: 'POST', url: '/v1/upload_features/multi' },
  { method: 'POST', url: '/v1/upload/single' },
  { method: 'DELETE', url: '/v1/features/rows' },
  { method: 'POST', url: '/v1/features/drop' },
  { method: 'GET', url: '/v1/environment/graph' },
  { method: 'GET', url: '/v1/deployments/:id/graph' },
  { method: 'POST', url: '/v1/runs/trigger' },
  { method: 'GET', url: '/v1/runs' },
  { method: 'GET', url: '/v1/runs/:id' },
  { method: 'POST', url: '/v1/runs/:id/cancel' },
  { method: 'GET', url: '/v1/runs/incremental/:fqn' },
  { method: 'PUT', url: '/v1/runs/incremental/:fqn' },
  { method: 'DELETE', url: '/v1/runs/incremental/:fqn' },
  { method: 'POST', url: '/v4/offline_query' },
  { method: 'GET', url: '/v2/offline_query/:revision' },
  { method: 'GET', url: '/v4/offline_query/:job/status' },
  { method: 'GET', url: '/v4/offline_query/:revision/parts/:part' },
];

/**
 * The signed download link of an offline query's result part (chalk.md §3.7): fetched without credentials,
 * so it is routed by the link's `environment` and the data plane checks the signature.
 */
export const FORWARDED_DOWNLOAD_ROUTE = {
  method: 'GET',
  url: '/v4/offline_query/:revision/download/:part',
} as const;

/** Sent on every forwarded request: the data plane names the API host in download links only for it. */
const API_HOST_HEADER = 'x-slate-api-host';

const DownloadQuery = z.object({ environment: z.string().min(1).max(200) });

/**
 * The environment a cookie-authenticated request is about (the seed product's clients send the same
 * header); a bearer token carries it in its `env` claim instead.
 */
export const ENVIRONMENT_HEADER = 'x-chalk-env-id';
const EnvironmentHeader = z.string().min(1).max(200);

/**
 * How long the access token minted for a signed-in user's forwarded request lives: it is used for that one
 * request (the data plane caches verified tokens until they expire), so a minute is plenty.
 */
const SESSION_TOKEN_TTL_S = 60;

export interface ForwardingOptions {
  /** Forwarded requests in flight at once (default 1,024); more get 429 `TOO_MANY_REQUESTS` with `Retry-After`. */
  readonly maxInFlight?: number;
  /** Wait for a data plane's response headers when the request sets no `X-Chalk-Timeout` (default 60 s). */
  readonly defaultTimeoutMs?: number;
  /** Longest wait whatever `X-Chalk-Timeout` asks (default 300 s). */
  readonly maxTimeoutMs?: number;
  /**
   * Added to `X-Chalk-Timeout` (default 1 s): the data plane answers a timed-out query itself (per-feature
   * timeouts are data in its answer), so the API host cuts only a data plane that did not.
   */
  readonly timeoutGraceMs?: number;
  /** Keep-alive sockets per data-plane instance (default 256). */
  readonly maxSocketsPerInstance?: number;
  /** Instance lookup (default: from the database, heartbeats within `ctx.heartbeatTimeoutMs`). */
  readonly targets?: DataPlaneTargets;
}

const queryLikePaths = ['/v1/query/', '/v1/upload', '/v1/features/'];

/** Errors shaped as the data plane shapes them, so a client cannot tell who answered. */
function dataPlaneErrorOptions(request: FastifyRequest): ErrorMapperOptions {
  return {
    invalidCode: request.url.startsWith('/v1/query/') ? 'INVALID_QUERY' : undefined,
    queryErrors: queryLikePaths.some((path) => request.url.startsWith(path)),
  };
}

/**
 * Mounts `FORWARDED_ROUTES` on the metadata plane. Each request's JWT is verified here first (signature,
 * issuer, expiry; the data plane verifies it again with revocations and permissions), then sent to a healthy instance of the data plane serving the token's
 * environment, round robin; bodies stream both ways. A GET that could not connect is tried on the next
 * instance (at most three); nothing else is retried. Returns a `close()` that drops idle sockets.
 *
 * @example
 * const forwarding = await mountForwardedRoutes(app, ctx, { maxInFlight: 512 });
 */
export async function mountForwardedRoutes(
  app: FastifyInstance,
  ctx: MetadataPlaneContext,
  options: ForwardingOptions = {},
): Promise<{ close(): void }> {
  const maxInFlight = options.maxInFlight ?? 1024;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? 300_000;
  const graceMs = options.timeoutGraceMs ?? 1000;
  const targets =
    options.targets ??
    createDataPlaneTargets({ db: ctx.db, now: ctx.now, heartbeatTimeoutMs: ctx.heartbeatTimeoutMs });
  // No Nagle: headers and a piped body leave as separate writes, and Nagle holding the second until the
  // first is ACKed meets Linux's 40 ms delayed ACK.
  const agentOptions = {
    keepAlive: true,
    noDelay: true,
    maxSockets: options.maxSocketsPerInstance ?? 256,
    maxFreeSockets: 64,
  };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  let inFlight = 0;

  const timeoutOf = (request: FastifyRequest): number => {
    const header = request.headers['x-chalk-timeout'];
    const text = Array.isArray(header) ? header[0] : header;
    const asked = text === undefined ? Number.NaN : timeoutMs(text);
    // An unreadable timeout is the data plane's to refuse (400 `INVALID_QUERY`): it is forwarded as sent.
    return Math.min(Number.isFinite(asked) && asked > 0 ? asked + graceMs : defaultTimeoutMs, maxTimeoutMs);
  };

  const authenticated = async (request: FastifyRequest): Promise<string> => {
    // The signature and expiry are checked here, so nothing unauthenticated reaches a data plane; the data
    // plane verifies the token again, applies revocations (delivered in its desired state) and permissions.
    // Re-reading the service-token row here too would put a database read on every query.
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token && request.cookies[SESSION_COOKIE]) return sessionEnvironment(request);
    if (!token) {
      throw new SlateError(
        'authentication',
        'AUTHENTICATION_REQUIRED',
        'an Authorization: Bearer token is required',
      );
    }
    const claims = await ctx.keys.verify(token);
    const environmentId = typeof claims.env === 'string' ? claims.env : null;
    if (!environmentId) {
      throw new SlateError(
        'input',
        'ENVIRONMENT_REQUIRED',
        'the access token names no environment: exchange a service token (or log in to an environment) to query through the API host',
      );
    }
    return environmentId;
  };

  // The web UI's playground: a signed-in user's session (with the CSRF header on anything but a GET, as on
  // every cookie-authenticated route) stands for a short-lived user token bound to the environment named in
  // `X-Chalk-Env-Id`, minted here only when the user is a member of its team. The data plane then checks the
  // user's permissions from that token as for any other caller; the cookie itself never leaves this host.
  const sessionEnvironment = async (request: FastifyRequest): Promise<string> => {
    if (request.method !== 'GET' && request.headers[CSRF_HEADER] !== '1') {
      throw new SlateError(
        'not_allowed',
        'CSRF_HEADER_REQUIRED',
        `cookie-authenticated ${request.method} requests need the header ${CSRF_HEADER}: 1`,
      );
    }
    const user = await sessionPrincipal(ctx.db, request.cookies[SESSION_COOKIE]!, ctx.now());
    const header = request.headers[ENVIRONMENT_HEADER];
    const environment = EnvironmentHeader.safeParse(Array.isArray(header) ? header[0] : header);
    if (!environment.success) {
      throw new SlateError(
        'input',
        'ENVIRONMENT_REQUIRED',
        `a signed-in request to a data-plane route names its environment in the ${ENVIRONMENT_HEADER} header`,
      );
    }
    const minted = await issueUserAccessToken(ctx.db, ctx.keys, user, environment.data, SESSION_TOKEN_TTL_S);
    request.headers.authorization = `Bearer ${minted}`;
    return environment.data;
  };

  // No token on a download link: the environment it names only picks the data plane, which refuses a link
  // whose signature does not match (so an altered environment gets nothing).
  const linkEnvironment = async (request: FastifyRequest): Promise<string> => {
    const parsed = DownloadQuery.safeParse(request.query);
    if (!parsed.success)
      throw new SlateError('not_allowed', 'DOWNLOAD_LINK_INVALID', 'this download link is not valid');
    return parsed.data.environment;
  };

  const forwardTo =
    (environmentOf: (request: FastifyRequest) => Promise<string>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const environmentId = await environmentOf(request);
      await forward(environmentId, request, reply);
    };

  const forward = async (
    environmentId: string,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> => {
    if (inFlight >= maxInFlight) {
      throw new SlateError(
        'rate_limited',
        'TOO_MANY_REQUESTS',
        `the API host is forwarding ${maxInFlight} requests already: retry shortly or query the data plane directly`,
        { retryAfterS: 1 },
      );
    }
    const urls = await targets.pick(environmentId);
    inFlight++;
    const aborter = new AbortController();
    const release = () => {
      inFlight--;
      if (!reply.raw.writableFinished) aborter.abort();
    };
    reply.raw.once('close', release);
    const idempotent = request.method === 'GET';
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    let answer: ForwardedResponse | undefined;
    let lastError: unknown;
    for (const url of idempotent ? urls.slice(0, 3) : urls.slice(0, 1)) {
      try {
        answer = await forwardOnce(
          url,
          {
            method: request.method,
            path: request.url,
            // Always this API host's own URL, whatever the client sent (the data plane trusts no other).
            headers: { ...request.headers, [API_HOST_HEADER]: ctx.apiServer },
            body: hasBody ? request.raw : null,
            requestId: request.id,
            clientIp: request.ip,
            timeoutMs: timeoutOf(request),
            signal: aborter.signal,
          },
          agents,
        );
        break;
      } catch (error) {
        lastError = error;
        const retryable = idempotent && error instanceof SlateError && error.details?.connectFailed === true;
        if (!retryable) break;
      }
    }
    if (!answer) {
      if (lastError instanceof SlateError && lastError.details?.connectFailed !== undefined) {
        // The flag is for the retry decision only, not the caller.
        const { connectFailed: _, ...details } = lastError.details;
        throw new SlateError(lastError.kind, lastError.code, lastError.message, details);
      }
      throw lastError;
    }
    reply.code(answer.status).headers(answer.headers);
    await reply.send(answer.body);
  };

  await app.register(async (scope) => {
    // Bodies stay unread here: the raw request streams on to the data plane, which enforces its own limit.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.setErrorHandler((error, request, reply) =>
      sendHttpError(error, request, reply, { errorOptions: dataPlaneErrorOptions }),
    );
    for (const route of FORWARDED_ROUTES) {
      scope.route({ method: route.method, url: route.url, handler: forwardTo(authenticated) });
    }
    scope.route({ ...FORWARDED_DOWNLOAD_ROUTE, handler: forwardTo(linkEnvironment) });
  });
  return {
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** `X-Chalk-Timeout` in ms: a number of milliseconds or a duration (`2s`), as the data plane reads it; NaN otherwise. */
function timeoutMs(text: string): number {
  const number = Number(text);
  if (Number.isFinite(number)) return number;
  try {
    const seconds = parseDuration(text);
    return seconds === null ? Number.NaN : seconds * 1000;
  } catch {
    return Number.NaN;
  }
}
