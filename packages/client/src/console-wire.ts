import type { GraphArtifact } from '@slate/graph';
import { z } from 'zod';
import { BatchJobSchema } from './datasets-api.ts';
import type { Deployment } from './wire.ts';

/**
 * Wire shapes of the metadata plane's endpoints that the web console reads and the client had no call for
 * yet: who is signed in, how to sign in, service tokens, data planes, usage, job reports, a deployment's
 * detail. One definition for the console, the CLI and tests. Unknown fields are kept (`looseObject`);
 * fields a newer or older server may omit are `nullish`/optional.
 */

/** `{items, next_cursor}` of every list endpoint; `next_cursor` is null on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/** A page request: at most `limit` items after `cursor`. */
export interface PageQuery {
  readonly limit?: number;
  readonly cursor?: string | null;
}

/** `GET /v1/me`: the signed-in user (session or user token) and their teams with their role in each. */
export const MeSchema = z.looseObject({
  user: z.looseObject({ id: z.string(), email: z.string(), name: z.string() }),
  teams: z.array(z.looseObject({ id: z.string(), name: z.string(), role: z.string() })),
});
export type Me = z.infer<typeof MeSchema>;

/** `GET /v1/auth/providers` (public): how this installation signs people in. */
export const AuthProvidersSchema = z.looseObject({
  /** OIDC identity providers; `login_url` starts the redirect flow (add `?return_to=/path`). */
  providers: z.array(z.looseObject({ id: z.string(), name: z.string(), login_url: z.string() })),
  /** The email form (`POST /v1/auth/local-login`): embedded mode (`slate up`) only. */
  local_login: z.boolean(),
});
export type AuthProviders = z.infer<typeof AuthProvidersSchema>;

/** A service token as listed (`GET /v1/environments/:id/tokens`): never its secret. */
export const ServiceTokenSchema = z.looseObject({
  id: z.string(),
  client_id: z.string(),
  name: z.string(),
  permissions: z.array(z.string()),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type ServiceToken = z.infer<typeof ServiceTokenSchema>;

/** `POST /v1/environments/:id/tokens` body. */
export interface CreateTokenInput {
  readonly name: string;
  readonly permissions: readonly string[];
}

/** The answer to a token's creation: the only response that carries `client_secret`. */
export const CreatedTokenSchema = z.looseObject({
  id: z.string(),
  client_id: z.string(),
  client_secret: z.string(),
});
export type CreatedToken = z.infer<typeof CreatedTokenSchema>;

/** One instance (replica) of a data plane, with its own health. */
export const DataPlaneInstanceSchema = z.looseObject({
  instance_id: z.string(),
  url: z.string(),
  /** `query`, `persistence`, `streaming`, `jobs`. */
  roles: z.array(z.string()),
  version: z.string().nullable(),
  last_heartbeat_at: z.string().nullable(),
  healthy: z.boolean(),
  /** environment id → the deployment this instance serves (null: none loaded). */
  deployments: z.record(z.string(), z.string().nullable()),
  registered_at: z.string(),
});
export type DataPlaneInstance = z.infer<typeof DataPlaneInstanceSchema>;

/** `GET /v1/data-planes` item. */
export const DataPlaneSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  url: z.string().nullable(),
  last_heartbeat_at: z.string().nullable(),
  healthy: z.boolean(),
  /** Absent from servers older than instances. */
  instances: z.array(DataPlaneInstanceSchema).optional(),
});
export type DataPlane = z.infer<typeof DataPlaneSchema>;

const UsageFiguresSchema = z.looseObject({
  queries: z.number(),
  rows: z.number(),
  compute_seconds: z.number(),
});

/** `GET /v1/environments/:id/usage`: metered usage per UTC hour (hours without usage are absent). */
export const UsageSchema = z.looseObject({
  environment_id: z.string(),
  from: z.string(),
  to: z.string(),
  hours: z.array(UsageFiguresSchema.extend({ hour: z.string() })),
  totals: UsageFiguresSchema,
});
export type Usage = z.infer<typeof UsageSchema>;

/** The final report a data plane sends when an offline query or a run ends. */
export const BatchReportSchema = z.looseObject({
  operation_id: z.string(),
  kind: z.string(),
  status: z.string(),
  deployment_id: z.string().nullish(),
  started_at: z.string().nullish(),
  finished_at: z.string(),
  duration_ms: z.number(),
  rows: z.number(),
  columns: z.array(z.looseObject({ name: z.string(), dtype: z.string() })),
  bytes_written: z.number().nullish(),
  output: z
    .looseObject({
      bucket: z.string(),
      keys: z.array(z.string()),
      dataset_id: z.string(),
      dataset_name: z.string().nullish(),
      revision_id: z.string(),
    })
    .nullish(),
  errors: z.array(z.looseObject({ code: z.string(), message: z.string(), feature: z.string().optional() })),
  attempts: z.number(),
});
export type BatchReport = z.infer<typeof BatchReportSchema>;

/** `GET /v1/environments/:id/jobs/:operation`: the job and its final report (`null` while it runs). */
export const BatchJobDetailSchema = BatchJobSchema.extend({ report: BatchReportSchema.nullable() });
export type BatchJobDetail = z.infer<typeof BatchJobDetailSchema>;

/** `GET /v1/deployments/:id`: the deployment and, when the server includes it, its feature graph. */
export type DeploymentDetail = Deployment & { readonly graph?: GraphArtifact };
