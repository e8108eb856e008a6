import { ConnectError } from '@connectrpc/connect';
import { SlateError } from '@slate/graph';
import { grpcStatusOf } from '@slate/grpc-api';
import { ZodError } from 'zod';

/**
 * The data plane's errors as Connect errors, by the one mapping every Slate gRPC server shares
 * (`grpcStatusOf` in `@slate/grpc-api`). A request that fails its schema is INVALID_QUERY (a client's
 * mistake is never INTERNAL); a `ConnectError` passes through as it is.
 *
 * @example
 * throw toConnectError(new SlateError('input', 'INVALID_QUERY', 'no outputs'), (e) => log.error(e));
 */
export function toConnectError(error: unknown, onInternal: (cause: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return error;
  const status = grpcStatusOf(error instanceof ZodError ? invalidQuery(error) : error, onInternal);
  return new ConnectError(status.message, status.code, new Headers(status.metadata), undefined, error);
}

function invalidQuery(error: ZodError): SlateError {
  const summary = error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`)
    .join('; ');
  return new SlateError('input', 'INVALID_QUERY', `invalid request: ${summary}`);
}
