import { Code, ConnectError } from '@connectrpc/connect';
import { type ErrorKind, SlateError } from '@slate/graph';
import { ZodError } from 'zod';

/** The gRPC status for each error kind: the gRPC counterpart of `httpStatusOf`. */
const codeByKind: Readonly<Record<ErrorKind, Code>> = {
  input: Code.InvalidArgument,
  authentication: Code.Unauthenticated,
  not_allowed: Code.PermissionDenied,
  not_found: Code.NotFound,
  conflict: Code.AlreadyExists,
  unavailable: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  rate_limited: Code.ResourceExhausted,
  internal: Code.Internal,
};

/** Codes whose status is not their kind's (as `sendError` does for HTTP's 413 and 429). */
const codeByErrorCode: Readonly<Record<string, Code>> = {
  TOO_MANY_REQUESTS: Code.ResourceExhausted,
  BODY_TOO_LARGE: Code.ResourceExhausted,
};

/**
 * The one mapping from errors to gRPC statuses on the data plane. The status message is the Slate error's
 * message; its stable code travels in the `x-slate-error-code` trailer (and `retry-after` when the error
 * says when to retry). A client's mistake is never INTERNAL: anything not recognised as one is INTERNAL
 * with a fixed message, and `onInternal` gets the cause to log.
 *
 * @example
 * throw toConnectError(new SlateError('input', 'INVALID_QUERY', 'no outputs'), (e) => log.error(e));
 */
export function toConnectError(error: unknown, onInternal: (cause: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return error;
  const slate = toSlateError(error);
  const code = codeByErrorCode[slate.code] ?? codeByKind[slate.kind];
  if (code === Code.Internal) onInternal(error);
  const metadata = new Headers({ 'x-slate-error-code': slate.code });
  if (typeof slate.details?.retryAfterS === 'number')
    metadata.set('retry-after', String(slate.details.retryAfterS));
  return new ConnectError(slate.message, code, metadata, undefined, error);
}

function toSlateError(error: unknown): SlateError {
  if (error instanceof SlateError) return error;
  if (error instanceof ZodError) {
    const summary = error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`)
      .join('; ');
    return new SlateError('input', 'INVALID_QUERY', `invalid request: ${summary}`);
  }
  return new SlateError('internal', 'INTERNAL_SERVER_ERROR', 'internal error');
}
