import { SlateError } from '@slate/graph';
import { z } from 'zod';
import type { CallOptions, SlateClient } from './slate-client.ts';
import { DEPLOYMENT_STATUSES } from './wire.ts';

/** An environment as `GET /v1/environments/:id` shows it. */
export const EnvironmentSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  project_id: z.string().nullish(),
  team_id: z.string().nullish(),
  active_deployment_id: z.string().nullish(),
  desired_deployment_id: z.string().nullish(),
  /** The data plane that serves it (null until one is assigned). */
  data_plane_id: z.string().nullish(),
  created_at: z.string().nullish(),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

const EnvironmentPageSchema = z.looseObject({
  items: z.array(EnvironmentSchema),
  next_cursor: z.string().nullish(),
});

/** `GET /v1/deployments/:id/rollout`: where a deployment stands on each instance of its data plane. */
export const DeploymentRolloutSchema = z.looseObject({
  deployment_id: z.string(),
  environment_id: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  desired: z.boolean(),
  active: z.boolean(),
  error: z.string().nullish(),
  instances: z.array(
    z.looseObject({
      data_plane_id: z.string(),
      instance_id: z.string(),
      healthy: z.boolean(),
      serving: z.string().nullable(),
      loaded: z.boolean(),
    }),
  ),
});
export type DeploymentRollout = z.infer<typeof DeploymentRolloutSchema>;

/**
 * The client's environment (`GET /v1/environments/:id`): its name, project, team and active deployment.
 * @throws SlateError `input`/`NO_ENVIRONMENT` when the client has none; `not_found`.
 * @example
 * const { name, project_id } = await getEnvironment(client);
 */
export async function getEnvironment(
  client: SlateClient,
  options: CallOptions & { readonly environmentId?: string } = {},
): Promise<Environment> {
  const id = options.environmentId ?? (await environmentIdOf(client, options));
  return client.request({
    method: 'GET',
    target: 'api',
    path: `/v1/environments/${encodeURIComponent(id)}`,
    schema: EnvironmentSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** Every environment the credentials can see (`GET /v1/environments`, all pages). */
export async function listEnvironments(
  client: SlateClient,
  options: CallOptions = {},
): Promise<Environment[]> {
  const items: Environment[] = [];
  let cursor: string | null | undefined;
  // A page holds up to 100; an installation with thousands is still listed in a few requests.
  do {
    const query = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
    const page = await client.request({
      method: 'GET',
      target: 'api',
      path: `/v1/environments?${query}`,
      schema: EnvironmentPageSchema,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** `GET /v1/deployments/:id/rollout`. @throws SlateError `not_found` (`DEPLOYMENT_NOT_FOUND`). */
export function getDeploymentRollout(
  client: SlateClient,
  id: string,
  options: CallOptions = {},
): Promise<DeploymentRollout> {
  return client.request({
    method: 'GET',
    target: 'api',
    path: `/v1/deployments/${encodeURIComponent(id)}/rollout`,
    schema: DeploymentRolloutSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The environment id the client's requests go to. @throws SlateError `input`/`NO_ENVIRONMENT`. */
export async function environmentIdOf(client: SlateClient, options: CallOptions = {}): Promise<string> {
  const id = (await client.getToken(options)).environmentId;
  if (!id)
    throw new SlateError(
      'input',
      'NO_ENVIRONMENT',
      'no environment: pass --environment or give the token a primary environment',
    );
  return id;
}
