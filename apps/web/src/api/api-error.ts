/** Error body of every metadata-plane endpoint. */
export interface ErrorBody {
  readonly detail?: string;
  readonly message?: string;
  readonly trace?: string | null;
  readonly code?: string;
}

/**
 * A failed API call. `status` is the HTTP status, or 0 when the server could not be reached; `code` is the
 * server's stable code (`PERMISSION_DENIED`, …), or `NETWORK` / `HTTP_<status>` when it sent none.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly detail: string | null;
  readonly trace: string | null;

  constructor(
    status: number,
    code: string,
    message: string,
    detail: string | null = null,
    trace: string | null = null,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.trace = trace;
  }

  /** The session is missing or expired: show the login page. */
  get unauthenticated(): boolean {
    return this.status === 401;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

/** True for an `ApiError` (or anything else) meaning "this endpoint or object does not exist". */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.notFound;
}
