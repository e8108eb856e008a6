import { SlateError } from '@slate/graph';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ZodType, z } from 'zod';
import { type AuditScope, runInAuditScope } from '../audit/audit-scope.ts';
import type { Permission } from '../auth/permissions.ts';
import { holdsAnywhere, type Principal } from '../auth/principal.ts';
import { sessionPrincipal, userPrincipal } from '../auth/users.ts';
import type { MetadataPlaneContext } from '../context.ts';
import { authenticateDataPlane, type DataPlaneIdentity } from '../data-planes/data-plane-instances.ts';
import { safeEqual } from '../ids.ts';
import { serviceTokenPrincipal } from '../tokens/service-tokens.ts';

export const SESSION_COOKIE = 'slate_session';
export const CSRF_HEADER = 'x-slate-csrf';

/**
 * Who may call a route:
 * - `public`: anyone (token exchange, JWKS, health, local login);
 * - `principal`: a service-token/user JWT or a session cookie holding `permission` somewhere
 *   (`authenticated` = any valid principal); handlers then check the permission in the resource's scope;
 * - `data_plane`: a registered data plane's own secret;
 * - `registration`: the installation's data-plane registration token.
 */
export type RouteAuth =
  | { readonly kind: 'public' }
  | { readonly kind: 'principal'; readonly permission: Permission | 'authenticated' }
  | { readonly kind: 'data_plane' }
  | { readonly kind: 'registration' };

export interface RouteContext<A extends RouteAuth, B, Q, P> {
  readonly principal: A extends { kind: 'principal' } ? Principal : null;
  readonly dataPlane: A extends { kind: 'data_plane' } ? DataPlaneIdentity : null;
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Names the object of an audited action (defaults to the `:id` path parameter). */
  auditTarget(target: string): void;
  /** Files the audit entry under a team (permission checks in the handler already do this). */
  auditTeam(teamId: string): void;
  /**
   * Names who acted, on a public route whose request proved an identity by itself (a token exchange: the
   * service token whose secret it presented, `token:<id>`). Without it a public route is `anonymous`.
   */
  auditPrincipal(label: string): void;
}

/** One HTTP endpoint: its contract (for validation and `/openapi.json`) and its handler. */
export interface RouteSpec<A extends RouteAuth = RouteAuth, B = unknown, Q = unknown, P = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly auth: A;
  readonly body?: ZodType<B>;
  readonly query?: ZodType<Q>;
  readonly params?: ZodType<P>;
  readonly status?: number;
  readonly bodyLimit?: number;
  /**
   * Action name written to the audit log for every call (success or failure). Every mutating route
   * (POST/PUT/DELETE) is audited: without a name it is `<METHOD> <url>`; `false` opts out (only for
   * data-plane telemetry that arrives every few seconds: status, heartbeat, usage).
   */
  readonly audit?: string | false;
  /** Error bodies exactly `{detail, message, trace}` (Chalk's wire), without Slate's `code`. */
  readonly chalkWire?: boolean;
  handler(ctx: RouteContext<A, B, Q, P>): Promise<unknown>;
}

/** Identity helper that keeps a route's generic parameters inferred. */
export function defineRoute<A extends RouteAuth, B = undefined, Q = undefined, P = undefined>(
  spec: RouteSpec<A, B, Q, P>,
): RouteSpec<A, B, Q, P> {
  return spec;
}

/** Route config fastify carries to hooks (audit, error wire shape). */
export interface SlateRouteConfig {
  readonly audit?: string;
  readonly chalkWire?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    slatePrincipal: Principal | null;
    slateAuditTarget: string | null;
    slateDataPlaneId: string | null;
    /** The team the request acted in (audit-log scoping), from its permission checks or the handler. */
    slateAuditTeam: string | null;
    /** Who acted, when the route's handler established it (see `RouteContext.auditPrincipal`). */
    slateAuditPrincipal: string | null;
    /**
     * Not audited one by one: a request shed by a rate limit or a full queue (an attack's thousands of
     * refusals would otherwise become as many database writes, the load the limit sheds). They are logged.
     */
    slateAuditSkip: boolean;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Mounts a route on `app`, authenticating in a `preHandler` hook before the body is validated. */
export function mountRoute<A extends RouteAuth, B, Q, P>(
  app: FastifyInstance,
  ctx: MetadataPlaneContext,
  spec: RouteSpec<A, B, Q, P>,
): void {
  const audit =
    spec.audit === false
      ? undefined
      : (spec.audit ?? (MUTATING.has(spec.method) ? `${spec.method} ${spec.url}` : undefined));
  const config: SlateRouteConfig = { audit, chalkWire: spec.chalkWire };
  app.route({
    method: spec.method,
    url: spec.url,
    config,
    ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
    preHandler: async (request) => {
      await authenticate(ctx, spec.auth, request);
    },
    handler: async (request, reply) => {
      const params = (spec.params ?? z.unknown()).parse(request.params) as P;
      const query = (spec.query ?? z.unknown()).parse(request.query) as Q;
      const body = (spec.body ?? z.unknown()).parse(request.body ?? {}) as B;
      const scope: AuditScope = { teamId: null };
      const result = await runInAuditScope(scope, () =>
        spec.handler({
          principal: request.slatePrincipal as RouteContext<A, B, Q, P>['principal'],
          dataPlane: dataPlanes.get(request) as RouteContext<A, B, Q, P>['dataPlane'],
          body,
          query,
          params,
          request,
          reply,
          auditTarget: (target) => {
            request.slateAuditTarget = target;
          },
          auditTeam: (teamId) => {
            scope.teamId ??= teamId;
          },
          auditPrincipal: (label) => {
            request.slateAuditPrincipal = label;
          },
        }),
      ).finally(() => {
        request.slateAuditTeam = scope.teamId;
      });
      if (reply.sent) return reply; // the handler answered itself (a redirect)
      reply.code(spec.status ?? 200);
      return result ?? null;
    },
  });
}

const dataPlanes = new WeakMap<FastifyRequest, DataPlaneIdentity>();

async function authenticate(
  ctx: MetadataPlaneContext,
  auth: RouteAuth,
  request: FastifyRequest,
): Promise<void> {
  switch (auth.kind) {
    case 'public':
      return;
    case 'registration': {
      const token = bearer(request);
      if (!token || !safeEqual(token, ctx.registrationToken)) {
        throw new SlateError(
          'authentication',
          'INVALID_REGISTRATION_TOKEN',
          'the registration token is invalid',
        );
      }
      return;
    }
    case 'data_plane': {
      const token = bearer(request);
      if (!token)
        throw new SlateError('authentication', 'AUTHENTICATION_REQUIRED', 'a data-plane token is required');
      const identity = await authenticateDataPlane(ctx.db, token);
      dataPlanes.set(request, identity);
      request.slateDataPlaneId = identity.id;
      return;
    }
    case 'principal': {
      const principal = await resolvePrincipal(ctx, request);
      request.slatePrincipal = principal;
      if (auth.permission !== 'authenticated' && !holdsAnywhere(principal, auth.permission)) {
        throw new SlateError('not_allowed', 'PERMISSION_DENIED', `missing permission ${auth.permission}`, {
          permission: auth.permission,
        });
      }
    }
  }
}

async function resolvePrincipal(ctx: MetadataPlaneContext, request: FastifyRequest): Promise<Principal> {
  const token = bearer(request);
  if (token) {
    const claims = await ctx.keys.verify(token);
    if (typeof claims.sub !== 'string')
      throw new SlateError('authentication', 'INVALID_TOKEN', 'the access token has no subject');
    if (claims.kind === 'service_token') {
      const principal = await serviceTokenPrincipal(ctx.db, claims.sub, claims.iat);
      if (claims.env !== principal.environmentId) {
        throw new SlateError(
          'authentication',
          'INVALID_TOKEN',
          'the access token does not match its service token',
        );
      }
      return principal;
    }
    if (claims.kind === 'user') {
      return userPrincipal(ctx.db, claims.sub, 'bearer', typeof claims.env === 'string' ? claims.env : null);
    }
    throw new SlateError('authentication', 'INVALID_TOKEN', 'the access token has an unknown kind');
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie) {
    // Cookies ride along on cross-site requests; SameSite=Strict stops most of that, and requiring a custom
    // header stops the rest: a cross-origin page cannot set one without a CORS preflight, which we never
    // grant. Bearer tokens need no such check because browsers never attach them on their own.
    if (MUTATING.has(request.method) && request.headers[CSRF_HEADER] !== '1') {
      throw new SlateError(
        'not_allowed',
        'CSRF_HEADER_REQUIRED',
        `cookie-authenticated ${request.method} requests need the header ${CSRF_HEADER}: 1`,
      );
    }
    return sessionPrincipal(ctx.db, cookie, ctx.now());
  }
  throw new SlateError(
    'authentication',
    'AUTHENTICATION_REQUIRED',
    'an Authorization: Bearer token or a session is required',
  );
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
