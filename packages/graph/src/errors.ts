/**
 * The one error type Slate's core code throws. Edges (HTTP servers, the CLI) translate `kind` into a
 * status or exit code in one place; core code never speaks HTTP.
 *
 * @example
 * throw new SlateError('not_found', 'DEPLOYMENT_NOT_FOUND', `deployment ${id} does not exist`);
 */
export class SlateError extends Error {
  override readonly name = 'SlateError';

  constructor(
    /** The category, which edges map to a status (`httpStatusOf` in `@slate/http-edge`). */
    readonly kind: ErrorKind,
    /** A stable, upper-snake-case code clients can branch on. */
    readonly code: string,
    message: string,
    /** Structured detail safe to return to the caller (never secrets). */
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The closed list of error categories. */
export type ErrorKind =
  | 'input'
  | 'authentication'
  | 'not_allowed'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'internal';
