import { SlateError } from '@slate/graph';
import { ZodError } from 'zod';
import { httpStatusOf } from './http-status.ts';

/** Error body of every endpoint of both planes: Chalk's `{detail, message, trace}` plus Slate's stable `code`. */
export interface ErrorBody {
  readonly detail: string;
  readonly message: string;
  readonly trace: null;
  readonly code?: string;
  /** Where a request failed validation: `[{path, message}]`, paths as `a.b[0]`. */
  readonly issues?: unknown;
  /** The seed product's query error list (query and upload paths of the data plane). */
  readonly errors?: unknown;
}

/** What an error becomes at the edge. */
export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True for server faults, which are logged with their stack (and never described to the caller). */
  readonly unexpected: boolean;
  /** Seconds for a `Retry-After` header (from a `SlateError`'s `details.retryAfterS`). */
  readonly retryAfterS?: number;
}

export interface ErrorMapperOptions {
  /** Bodies exactly `{detail, message, trace}` (Chalk's wire for the token endpoint): no `code` or `issues`. */
  readonly chalkWire?: boolean;
  /** The code for a request that fails its schema (default `INVALID_REQUEST`; the query API says `INVALID_QUERY`). */
  readonly invalidCode?: string;
  /** Also list the error in the seed product's `errors: [{code, category, message}]` (query and upload paths). */
  readonly queryErrors?: boolean;
}

/** The code every unexpected server fault is answered with (the seed product's `INTERNAL_SERVER_ERROR`). */
export const INTERNAL_CODE = 'INTERNAL_SERVER_ERROR';

/** Codes whose status is not their kind's: the HTTP-only outcomes. */
const statusByCode: Readonly<Record<string, number>> = {
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
};

/** Fastify's own client faults, renamed to stable codes. */
const fastifyCodes: Readonly<Record<string, { code: string; message?: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'PARSE_FAILED' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'PARSE_FAILED', message: 'the request body is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', message: 'the request body is larger than accepted' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'PARSE_FAILED' },
};

/** Issues listed in a validation failure's message (all of them are in `issues`). */
const MAX_SUMMARISED_ISSUES = 5;

/**
 * The one place, for both planes, where an error becomes an HTTP status and body. `SlateError` kinds map
 * through `httpStatusOf` (a few HTTP-only codes through their own table); zod failures are the caller's
 * (400 with issue paths); fastify's own 4xx (bad JSON, body too large, unsupported media type) get stable
 * codes; anything else is a 500 `INTERNAL_SERVER_ERROR` whose message is not leaked. Never throws.
 *
 * @example
 * const { status, body } = toHttpError(new SlateError('not_found', 'TEAM_NOT_FOUND', 'no team t1'));
 * // status 404, body { detail: 'no team t1', message: 'no team t1', trace: null, code: 'TEAM_NOT_FOUND' }
 */
export function toHttpError(error: unknown, options: ErrorMapperOptions = {}): HttpError {
  const { status, code, message, issues, errors, retryAfterS, unexpected, input } = classify(error, options);
  if (options.chalkWire) return { status, body: { detail: message, message, trace: null }, unexpected };
  const queryErrors =
    errors ?? (options.queryErrors && input ? [{ code, category: 'REQUEST', message }] : undefined);
  const body: ErrorBody = {
    detail: message,
    message,
    trace: null,
    code,
    ...(issues === undefined ? {} : { issues }),
    ...(queryErrors === undefined ? {} : { errors: queryErrors }),
  };
  return { status, body, unexpected, ...(retryAfterS === undefined ? {} : { retryAfterS }) };
}

interface Classified {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly issues?: unknown;
  readonly errors?: unknown;
  readonly retryAfterS?: number;
  readonly unexpected: boolean;
  /** The caller's input was at fault (kind `input`, a schema failure, a body fastify could not take). */
  readonly input: boolean;
}

function classify(error: unknown, options: ErrorMapperOptions): Classified {
  if (error instanceof SlateError) {
    const retry = error.details?.retryAfterS;
    return {
      status: statusByCode[error.code] ?? httpStatusOf(error.kind),
      code: error.code,
      message: error.message,
      issues: error.details?.issues,
      errors: error.details?.errors,
      retryAfterS: typeof retry === 'number' ? retry : undefined,
      unexpected: error.kind === 'internal',
      input: error.kind === 'input',
    };
  }
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
    const listed = issues.slice(0, MAX_SUMMARISED_ISSUES).map((i) => `${i.path || '(root)'}: ${i.message}`);
    const more = issues.length - listed.length;
    return {
      status: 400,
      code: options.invalidCode ?? 'INVALID_REQUEST',
      message: `invalid request: ${listed.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`,
      issues,
      unexpected: false,
      input: true,
    };
  }
  const fault = error as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const statusCode = typeof fault?.statusCode === 'number' ? fault.statusCode : undefined;
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    const known = typeof fault?.code === 'string' ? fastifyCodes[fault.code] : undefined;
    const code = known?.code ?? (error instanceof SyntaxError ? 'PARSE_FAILED' : 'INVALID_REQUEST');
    const raw = typeof fault?.message === 'string' ? fault.message : 'the request was refused';
    return {
      status: statusByCode[code] ?? statusCode,
      code,
      message: known?.message ?? (code === 'PARSE_FAILED' ? `the request body is not valid: ${raw}` : raw),
      unexpected: false,
      input: true,
    };
  }
  return {
    status: 500,
    code: INTERNAL_CODE,
    message: 'internal server error',
    unexpected: true,
    input: false,
  };
}

/** A validation issue's path as `a.b[0].c` (empty for the root). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
