import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorMapperOptions, toHttpError } from './error-mapper.ts';
import { refuseNul } from './nul-guard.ts';
import { securityHeadersFor } from './security-headers.ts';

export interface EdgeOptions {
  /** How a request's errors are shaped (per route: Chalk's wire, the query error list, the schema code). */
  readonly errorOptions?: (request: FastifyRequest) => ErrorMapperOptions;
  /** Also log refused requests (4xx) at `info` with their code (default true). */
  readonly logRefusals?: boolean;
}

/**
 * What both planes do at their HTTP edge, in one place: every error goes through `toHttpError` (status,
 * body, `Retry-After`); a NUL character anywhere in a request's params, query, cookies or body is refused
 * with 400 `NUL_CHARACTER` before validation or authentication; every response carries the security
 * headers. Call it before mounting routes (fastify applies hooks to routes registered after them).
 *
 * @example
 * const app = Fastify();
 * installEdge(app, { errorOptions: (request) => ({ queryErrors: request.url.startsWith('/v1/query/') }) });
 */
export function installEdge(app: FastifyInstance, options: EdgeOptions = {}): void {
  // Callback-style hooks: an async hook costs a promise and a microtask turn per request on every route.
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      refuseNul(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(securityHeadersFor(String(reply.getHeader('content-type') ?? '')));
    done(null, payload);
  });
  app.setErrorHandler((error, request, reply) => sendHttpError(error, request, reply, options));
}

/** Answers `error` through `toHttpError`, logging server faults with their stack and refusals briefly. */
export function sendHttpError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options: EdgeOptions = {},
): FastifyReply {
  const { status, body, unexpected, retryAfterS } = toHttpError(error, options.errorOptions?.(request));
  if (unexpected) request.log.error({ err: error }, 'request failed');
  else if (options.logRefusals ?? true)
    request.log.info({ code: body.code ?? codeOf(error), status }, 'request refused');
  if (retryAfterS !== undefined) reply.header('retry-after', String(retryAfterS));
  return reply.code(status).send(body);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
