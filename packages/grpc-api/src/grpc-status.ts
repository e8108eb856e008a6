import { Code } from '@connectrpc/connect';
import { type ErrorKind, SlateError } from '@slate/graph';

/**
 * The gRPC status for each error kind: the gRPC counterpart of `httpStatusOf`. The API host and the data
 * plane share it, so a client cannot tell which plane answered.
 */
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

/** Codes whose status is not their kind's (as HTTP answers 413 and 429 for them). */
const codeByErrorCode: Readonly<Record<string, Code>> = {
  TOO_MANY_REQUESTS: Code.ResourceExhausted,
  BODY_TOO_LARGE: Code.ResourceExhausted,
};

/** A gRPC status as a Slate plane sends it: code, message, and the metadata that goes with it. */
export interface GrpcStatus {
  readonly code: Code;
  readonly message: string;
  /** `x-slate-error-code` (the stable Slate code) and `retry-after` when the error says when to retry. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The one mapping from errors to gRPC statuses. The status message is the Slate error's message; its
 * stable code travels in `x-slate-error-code` (and `retry-after` when `details.retryAfterS` or
 * `details.retryAfterSeconds` says when to retry). Anything that is not a `SlateError` is INTERNAL with a
 * fixed message (the cause goes to `onInternal` to be logged, never to the caller).
 *
 * @example
 * grpcStatusOf(new SlateError('authentication', 'TOKEN_INVALID', 'bad token'), log).code; // Code.Unauthenticated
 */
export function grpcStatusOf(error: unknown, onInternal: (cause: unknown) => void): GrpcStatus {
  const slate =
    error instanceof SlateError
      ? error
      : new SlateError('internal', 'INTERNAL_SERVER_ERROR', 'internal error');
  const code = codeByErrorCode[slate.code] ?? codeByKind[slate.kind];
  if (code === Code.Internal) onInternal(error);
  const metadata: Record<string, string> = { 'x-slate-error-code': slate.code };
  const retryAfter = slate.details?.retryAfterS ?? slate.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') metadata['retry-after'] = String(retryAfter);
  return { code, message: slate.message, metadata };
}
