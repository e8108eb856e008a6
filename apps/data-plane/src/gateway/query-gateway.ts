import { SlateError } from '@slate/graph';
import { withFeaturePermissions } from '../auth/feature-permissions.ts';
import type { Principal } from '../auth/principal.ts';
import { requestScope, type ScopedRequest } from '../auth/request-scope.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type {
  ServedDeployment,
  ServedEnvironment,
  ServedEnvironments,
} from '../deployments/served-environments.ts';
import type { ConcurrencyLimiter } from '../http/concurrency-limit.ts';
import type { FeatureWriter } from '../http/feature-writer.ts';
import { type QueryHeaders, readQueryHeaders } from '../http/query-headers.ts';

/** What a request runs against once authenticated, admitted and leased an engine. */
export interface QueryScope {
  readonly principal: Principal;
  readonly environment: ServedEnvironment;
  readonly deployment: ServedDeployment;
  readonly headers: QueryHeaders;
}

/**
 * The transport-neutral front of the query path, shared by the HTTP and gRPC servers so both answer with
 * the same authentication, environment scoping, admission and engine leasing.
 */
export interface QueryGateway {
  /**
   * Verifies an `Authorization` header value (`Bearer <token>`).
   * @throws SlateError `UNAUTHENTICATED` (kind `authentication`) for a missing or refused token.
   */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /**
   * `authenticate` answered in the same turn when the token was verified recently; `undefined` when it
   * must go through `authenticate` (not cached, expired from the cache).
   * @throws SlateError `UNAUTHENTICATED` for a missing or revoked token.
   */
  authenticateCached(authorization: string | undefined): Principal | undefined;
  /**
   * Runs `work` for an authenticated request: permission checked, environment resolved (`X-Chalk-Env-Id`
   * may name the token's environment, never another), `X-Chalk-*` headers read, a concurrency slot taken
   * and the active engine leased until `work` settles.
   * @throws SlateError `UNAUTHORIZED`, `ENVIRONMENT_NOT_FOUND`, `INVALID_QUERY` (bad query headers),
   * `TOO_MANY_REQUESTS` (the environment is at its in-flight cap), `NO_ACTIVE_DEPLOYMENT`.
   */
  serve<T>(request: ScopedRequest, permission: string, work: (scope: QueryScope) => Promise<T>): Promise<T>;
  /**
   * Where uploads go.
   * @throws SlateError `UPLOADS_UNAVAILABLE` (kind `unavailable`) when this data plane accepts none.
   */
  writer(): FeatureWriter;
}

/**
 * Creates the gateway. One limiter may be shared by several transports, so that HTTP and gRPC together
 * stay within one environment's cap.
 *
 * @example
 * const gateway = createQueryGateway({ served, verifier, limiter: createConcurrencyLimiter({ maxInFlight: 512 }) });
 * const principal = await gateway.authenticate(`Bearer ${token}`);
 */
export function createQueryGateway(options: {
  readonly served: ServedEnvironments;
  readonly verifier: TokenVerifier;
  readonly limiter: ConcurrencyLimiter;
  readonly featureWriter?: FeatureWriter;
  readonly now?: () => number;
}): QueryGateway {
  const { served, verifier, limiter } = options;
  const now = options.now ?? Date.now;
  return {
    async authenticate(authorization) {
      return verifier.verify(bearerToken(authorization));
    },
    authenticateCached(authorization) {
      return verifier.verifyCached(bearerToken(authorization));
    },
    async serve(request, permission, work) {
      const { principal, environment } = requestScope(request, served, permission);
      const headers = readQueryHeaders(request.headers, now());
      const release = limiter.acquire(environment.id);
      try {
        const answer = await served.withEngine(environment.id, (deployment) =>
          work({
            principal,
            environment,
            // A token with feature rules sees the deployment through them, on every query route.
            deployment: principal.featurePermissions
              ? {
                  ...deployment,
                  engine: withFeaturePermissions(deployment.engine, principal.featurePermissions),
                }
              : deployment,
            headers,
          }),
        );
        if (answer === undefined) throw noDeployment(environment.id);
        return answer;
      } finally {
        release();
      }
    },
    writer() {
      if (!options.featureWriter)
        throw new SlateError('unavailable', 'UPLOADS_UNAVAILABLE', 'this data plane accepts no uploads');
      return options.featureWriter;
    },
  };
}

function bearerToken(authorization: string | undefined): string {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  if (!token)
    throw new SlateError('authentication', 'UNAUTHENTICATED', 'an Authorization: Bearer token is required');
  return token;
}

function noDeployment(environmentId: string): SlateError {
  return new SlateError(
    'unavailable',
    'NO_ACTIVE_DEPLOYMENT',
    `environment ${environmentId} has no active deployment yet`,
  );
}
