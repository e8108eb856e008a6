import { httpStatusOf, SlateError } from '@slate/graph';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

/** Codes whose status is not their kind's (the HTTP-only outcomes). */
const statusByCode: Readonly<Record<string, number>> = {
  BODY_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
};

/** Paths whose 4xx bodies also carry the seed product's `errors` list (clients read it there). */
const queryLikePaths = ['/v1/query/', '/v1/upload', '/v1/features/'];

/**
 * The one mapping from errors to HTTP statuses and bodies on the data plane: `{detail, message, trace,
 * code}` (chalk.md §3.4's `{detail, trace}` plus Slate's `message` and `code`), with the query error list
 * for query and upload paths. A client's mistake is never a 5xx: anything not recognised as one is a 500
 * that is logged with its cause and answered without it.
 */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const slate = toSlateError(error, request);
  const status = statusByCode[slate.code] ?? httpStatusOf(slate.kind);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const body: Record<string, unknown> = {
    detail: slate.message,
    message: slate.message,
    trace: null,
    code: slate.code,
  };
  if (slate.details?.issues) body.issues = slate.details.issues;
  if (slate.details?.errors) body.errors = slate.details.errors;
  else if (slate.kind === 'input' && queryLikePaths.some((path) => request.url.startsWith(path)))
    body.errors = [{ code: slate.code, category: 'REQUEST', message: slate.message }];
  if (typeof slate.details?.retryAfterS === 'number')
    reply.header('retry-after', String(slate.details.retryAfterS));
  return reply.code(status).send(body);
}

function toSlateError(error: unknown, request: FastifyRequest): SlateError {
  if (error instanceof SlateError) return error;
  const isQuery = request.url.startsWith('/v1/query/');
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    const summary = issues
      .slice(0, 5)
      .map((i) => `${i.path || 'body'}: ${i.message}`)
      .join('; ');
    return new SlateError(
      'input',
      isQuery ? 'INVALID_QUERY' : 'INVALID_REQUEST',
      `invalid request: ${summary}`,
      { issues },
    );
  }
  const code = (error as { code?: string } | null)?.code;
  if (
    code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400)
  ) {
    return new SlateError(
      'input',
      'PARSE_FAILED',
      `the request body is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new SlateError(
      'input',
      'BODY_TOO_LARGE',
      'the request body is larger than this data plane accepts',
    );
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new SlateError('input', 'PARSE_FAILED', 'send the request as application/json');
  const statusCode = (error as { statusCode?: number } | null)?.statusCode;
  if (statusCode && statusCode >= 400 && statusCode < 500) {
    return new SlateError('input', isQuery ? 'PARSE_FAILED' : 'INVALID_REQUEST', (error as Error).message);
  }
  return new SlateError('internal', 'INTERNAL_SERVER_ERROR', 'internal error');
}
