import type { FastifyInstance } from 'fastify';
import type { ZodType } from 'zod';
import type { MetadataPlaneContext } from '../context.ts';
import { mountRoute, type RouteAuth, type RouteSpec } from './route.ts';

/** The contract of a mounted route, kept for `/openapi.json`. */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly summary: string;
  readonly auth: RouteAuth;
  /** Audit action, when the route is audited. */
  readonly audit: string | undefined;
  readonly status: number;
  readonly body?: ZodType;
  readonly query?: ZodType;
  readonly params?: ZodType;
}

/** Mounts routes and remembers their contracts. */
export interface Router {
  readonly routes: readonly RouteInfo[];
  add<A extends RouteAuth, B, Q, P>(spec: RouteSpec<A, B, Q, P>): void;
}

export function createRouter(app: FastifyInstance, ctx: MetadataPlaneContext): Router {
  const routes: RouteInfo[] = [];
  return {
    routes,
    add(spec) {
      mountRoute(app, ctx, spec);
      routes.push({
        method: spec.method,
        url: spec.url,
        summary: spec.summary,
        auth: spec.auth,
        audit:
          spec.audit === false
            ? undefined
            : (spec.audit ??
              (['POST', 'PUT', 'DELETE'].includes(spec.method) ? `${spec.method} ${spec.url}` : undefined)),
        status: spec.status ?? 200,
        body: spec.body,
        query: spec.query,
        params: spec.params,
      });
    },
  };
}
