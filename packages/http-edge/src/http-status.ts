import type { ErrorKind } from '@slate/graph';

const statusByKind: Record<ErrorKind, number> = {
  input: 400,
  authentication: 401,
  not_allowed: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

/**
 * The HTTP status for an error kind: the single table every server uses. It lives at the edge, not beside
 * `SlateError`, because core code never speaks HTTP (the CLI has its exit-code table, gRPC its status table).
 *
 * @example
 * httpStatusOf('not_found'); // 404
 */
export function httpStatusOf(kind: ErrorKind): number {
  return statusByKind[kind];
}
