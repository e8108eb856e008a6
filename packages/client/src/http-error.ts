import { type ErrorKind, SlateError } from '@slate/graph';
import { ErrorBodySchema } from './wire.ts';

/** HTTP status → error kind: the inverse of `httpStatusOf`, plus what proxies answer. */
function kindOfStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return 'input';
  if (status === 401) return 'authentication';
  if (status === 403) return 'not_allowed';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503) return 'unavailable';
  if (status === 408 || status === 504) return 'timeout';
  return status >= 400 && status < 500 ? 'input' : 'internal';
}

const defaultCodeByKind: Record<ErrorKind, string> = {
  input: 'BAD_REQUEST',
  authentication: 'UNAUTHENTICATED',
  not_allowed: 'UNAUTHORIZED',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  rate_limited: 'RATE_LIMITED',
  unavailable: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
  internal: 'INTERNAL_SERVER_ERROR',
};

/**
 * Turns a non-2xx answer into a `SlateError` carrying the server's `code` and message. The body's other
 * fields (`detail`, `issues`, …) and the status land in `details`; `trace` is dropped.
 */
export function errorFromResponse(method: string, url: string, status: number, text: string): SlateError {
  const kind = kindOfStatus(status);
  let body: Record<string, unknown> = {};
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone decides.
  }
  const { code, message, detail, trace: _trace, ...rest } = body;
  const text_ =
    (typeof message === 'string' && message) ||
    (typeof detail === 'string' && detail) ||
    `${method} ${url} answered HTTP ${status}`;
  return new SlateError(kind, typeof code === 'string' && code ? code : defaultCodeByKind[kind], text_, {
    status,
    ...(detail !== undefined && detail !== text_ ? { detail } : {}),
    ...rest,
  });
}

/** A request that never got an answer: refused connection, DNS failure, reset, or an abort. */
export function errorFromNetwork(method: string, url: string, cause: unknown): SlateError {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return new SlateError(
      'timeout',
      'DEADLINE_EXCEEDED',
      `${method} ${url} was cancelled: ${cause.message}`,
      undefined,
      { cause },
    );
  }
  const reason = cause instanceof Error ? describeCause(cause) : String(cause);
  return new SlateError('unavailable', 'UNREACHABLE', `cannot reach ${url}: ${reason}`, undefined, { cause });
}

/** Undici reports `fetch failed` and hides the useful part (ECONNREFUSED, …) in `cause`. */
function describeCause(error: Error): string {
  const inner = error.cause;
  if (inner instanceof Error) {
    const code = (inner as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${inner.message})` : inner.message;
  }
  return error.message;
}
