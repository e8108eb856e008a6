import { httpStatusOf, SlateError } from '@slate/graph';
import { ZodError } from 'zod';
import { formatPath } from '../seed/seed.ts';

/** Error body of every endpoint: Chalk's `{detail, message, trace}` plus Slate's stable `code`. */
export interface ErrorBody {
  readonly detail: string;
  readonly message: string;
  readonly trace: null;
  readonly code?: string;
  readonly issues?: unknown;
}

export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True for server faults, which are logged with their stack. */
  readonly unexpected: boolean;
}

/**
 * The one place an error becomes an HTTP status and body. `SlateError` kinds map through
 * `httpStatusOf`; zod failures are the caller's (400 `INVALID_REQUEST` with issue paths); fastify's own
 * 4xx (bad JSON, body too large, unsupported media type) keep their status; anything else is a 500 whose
 * message is not leaked. `chalkWire` drops `code`/`issues` for endpoints whose error bodies must match
 * Chalk's byte for byte (the token endpoint).
 */
export function toHttpError(error: unknown, chalkWire = false): HttpError {
  let status: number;
  let code: string;
  let message: string;
  let issues: unknown;
  let unexpected = false;
  if (error instanceof SlateError) {
    status = httpStatusOf(error.kind);
    code = error.code;
    message = error.message;
    issues = error.details?.issues;
  } else if (error instanceof ZodError) {
    status = 400;
    code = 'INVALID_REQUEST';
    issues = error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
    message = `invalid request: ${error.issues.map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`).join('; ')}`;
  } else if (isClientFault(error)) {
    status = error.statusCode;
    code = error.code ?? 'INVALID_REQUEST';
    message = error.message;
  } else {
    status = 500;
    code = 'INTERNAL';
    message = 'internal server error';
    unexpected = true;
  }
  const body: ErrorBody = chalkWire
    ? { detail: message, message, trace: null }
    : { detail: message, message, trace: null, code, ...(issues === undefined ? {} : { issues }) };
  return { status, body, unexpected };
}

function isClientFault(error: unknown): error is { statusCode: number; code?: string; message: string } {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}
