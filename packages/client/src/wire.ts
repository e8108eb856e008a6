import { DEPLOYMENT_STATUSES } from '@slate/graph';
import { z } from 'zod';

/** Answer of `POST /v1/oauth/token` (chalk.md §3.2). */
export const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().default('Bearer'),
  expires_in: z.number().positive(),
  primary_environment: z.string().nullish(),
  engines: z.record(z.string(), z.string()).nullish(),
  api_server: z.string().nullish(),
  environment_id_to_name: z.record(z.string(), z.string()).nullish(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** Answer of `GET /v1/who-am-i`. */
export const WhoAmISchema = z.looseObject({
  user: z.string(),
  environment_id: z.string().nullish(),
  team_id: z.string().nullish(),
});
export type WhoAmI = z.infer<typeof WhoAmISchema>;

/** Statuses a deployment moves through, as Chalk names them (chalk.md §4). */
export { DEPLOYMENT_STATUSES, type DeploymentStatus, FAILED_DEPLOYMENT_STATUSES } from '@slate/graph';

/**
 * A deployment as the metadata plane reports it. Only `id`, `status`, `environment_id` and `created_at` are
 * guaranteed; the rest is read when present and unknown fields are kept.
 */
export const DeploymentSchema = z.looseObject({
  id: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  environment_id: z.string(),
  created_at: z.string(),
  error: z.string().nullish(),
  source_hash: z.string().nullish(),
  git: z.record(z.string(), z.string()).nullish(),
  dirty: z.boolean().nullish(),
  diff_hash: z.string().nullish(),
  created_by: z.string().nullish(),
  activated_at: z.string().nullish(),
  active: z.boolean().nullish(),
  desired: z.boolean().nullish(),
  /** Counts of its graph, when the server includes them. */
  graph_summary: z
    .looseObject({
      namespaces: z.number(),
      features: z.number(),
      resolvers: z.number(),
      named_queries: z.number().optional(),
    })
    .optional(),
});
export type Deployment = z.infer<typeof DeploymentSchema>;

/** A page of `GET /v1/deployments`; `next_cursor` is null on the last page. */
export const DeploymentPageSchema = z.looseObject({
  items: z.array(DeploymentSchema),
  next_cursor: z.string().nullish(),
});
export type DeploymentPage = z.infer<typeof DeploymentPageSchema>;

/** The error body every Slate endpoint answers with (Chalk's `{detail, trace}` plus `message` and `code`). */
export const ErrorBodySchema = z.looseObject({
  detail: z.unknown().optional(),
  message: z.string().nullish(),
  code: z.string().nullish(),
  trace: z.unknown().optional(),
});
