import { SlateError } from '@slate/graph';
import type { ServedEnvironment, ServedEnvironments } from '../deployments/served-environments.ts';
import type { Principal } from './principal.ts';

/**
 * Throws unless the principal holds one of `permissions`.
 *
 * @throws SlateError `UNAUTHORIZED` (kind `not_allowed`).
 */
export function requirePermission(principal: Principal, ...permissions: string[]): void {
  if (!permissions.some((permission) => principal.permissions.includes(permission))) {
    throw new SlateError(
      'not_allowed',
      'UNAUTHORIZED',
      `this token lacks the '${permissions[0]}' permission`,
    );
  }
}

/** What scoping reads of a request (an HTTP request or a gRPC call's metadata). */
export interface ScopedRequest {
  readonly principal?: Principal;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Who a request speaks for and the environment it addresses, checked once for every route: the token must
 * hold one of `permissions`, and the environment is the token's, which `X-Chalk-Env-Id` may name (by id or
 * name) but never change — one environment never sees another's data.
 *
 * @throws SlateError `UNAUTHENTICATED`, `UNAUTHORIZED` (a missing permission or another environment named),
 *   `ENVIRONMENT_NOT_FOUND` (the token's environment is not served by this data plane).
 */
export function requestScope(
  request: ScopedRequest,
  served: ServedEnvironments,
  ...permissions: string[]
): { principal: Principal; environment: ServedEnvironment } {
  const principal = request.principal;
  if (!principal) throw new SlateError('authentication', 'UNAUTHENTICATED', 'a bearer token is required');
  requirePermission(principal, ...permissions);
  const header = request.headers['x-chalk-env-id'];
  const asked = Array.isArray(header) ? header[0] : header;
  const environment = served.get(principal.environment);
  if (asked && asked !== principal.environment && asked !== environment?.name) {
    throw new SlateError(
      'not_allowed',
      'UNAUTHORIZED',
      `this token is scoped to environment ${principal.environment}, not ${asked}`,
    );
  }
  if (!environment) {
    throw new SlateError(
      'not_found',
      'ENVIRONMENT_NOT_FOUND',
      `environment ${principal.environment} is not served here`,
    );
  }
  return { principal, environment };
}
