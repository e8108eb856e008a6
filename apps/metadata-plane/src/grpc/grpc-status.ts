import { Code } from '@connectrpc/connect';
import { type ErrorKind, SlateError } from '@slate/graph';

/**
 * The gRPC status for each error kind on the API host: the gRPC counterpart of `httpStatusOf`, the same
 * table as the data plane's (`apps/data-plane/src/grpc/grpc-status.ts`), so a client cannot tell which
 * plane answered.
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

/** A gRPC status as the API host sends it: code, message, and the metadata that goes with it. */
export interface GrpcStatus {
  readonly code: Code;
  readonly message: string;
  /** `x-slate-error-code` (the stable Slate code) and `retry-after` when the error says when to retry. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The one mapping from errors to gRPC statuses on the API host. Anything that is not a `SlateError` is
 * INTERNAL with a fixed message (the cause goes to `onInternal` to be logged, never to the caller).
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
