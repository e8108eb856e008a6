import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { assertCan, type Principal } from '../auth/principal.ts';
import { getEnvironment } from '../catalog/catalog.ts';
import { INSTANCE_LISTED_FOR_MS } from '../data-planes/data-plane-instances.ts';
import type { Database } from '../db/schema.ts';
import type { DeploymentStatus } from './deployment-status.ts';

/** One data-plane instance of the deployment's environment, as `GET /v1/deployments/:id/rollout` shows it. */
export interface RolloutInstanceView {
  readonly data_plane_id: string;
  readonly instance_id: string;
  /** A heartbeat arrived within the timeout. */
  readonly healthy: boolean;
  /** The deployment the instance last reported serving for the environment (null: none yet). */
  readonly serving: string | null;
  /** `serving` is this deployment. */
  readonly loaded: boolean;
}

/** Where a deployment stands on each instance that serves its environment. */
export interface DeploymentRolloutView {
  readonly deployment_id: string;
  readonly environment_id: string;
  readonly status: DeploymentStatus;
  readonly desired: boolean;
  readonly active: boolean;
  readonly error: string | null;
  /** Instances heard from in the last day, by data plane then instance id. */
  readonly instances: RolloutInstanceView[];
}

const InstanceStatusSchema = z.object({
  environments: z.array(z.object({ id: z.string(), active_deployment_id: z.string().nullable() })),
});

/**
 * A deployment's rollout: its status, and which instance of its environment's data plane already serves
 * it, from the instances' own status reports (the CLI shows it while `slate apply` waits). Needs only
 * `deploy.read` in the environment, unlike `GET /v1/data-planes` (infrastructure).
 *
 * @throws SlateError not_found `DEPLOYMENT_NOT_FOUND`; not_allowed `PERMISSION_DENIED`.
 */
export async function getDeploymentRollout(
  db: Kysely<Database>,
  principal: Principal,
  id: string,
  now: Date,
  heartbeatTimeoutMs: number,
): Promise<DeploymentRolloutView> {
  const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'DEPLOYMENT_NOT_FOUND', `deployment ${id} does not exist`);
  const env = await getEnvironment(db, row.environment_id);
  assertCan(principal, 'deploy.read', { teamId: env.team_id, environmentId: env.id });
  const listedSince = new Date(now.getTime() - INSTANCE_LISTED_FOR_MS);
  const instances = env.data_plane_id
    ? await db
        .selectFrom('data_plane_instances')
        .select(['data_plane_id', 'instance_id', 'last_heartbeat_at', 'status'])
        .where('data_plane_id', '=', env.data_plane_id)
        .where((eb) =>
          eb.or([eb('last_heartbeat_at', '>=', listedSince), eb('registered_at', '>=', listedSince)]),
        )
        .orderBy('instance_id')
        .execute()
    : [];
  return {
    deployment_id: row.id,
    environment_id: env.id,
    status: row.status as DeploymentStatus,
    desired: env.desired_deployment_id === row.id,
    active: env.active_deployment_id === row.id,
    error: row.error,
    instances: instances.map((instance) => {
      const status = InstanceStatusSchema.safeParse(
        typeof instance.status === 'string' ? JSON.parse(instance.status) : instance.status,
      );
      const serving =
        (status.success ? status.data.environments : []).find((e) => e.id === env.id)?.active_deployment_id ??
        null;
      const heard = instance.last_heartbeat_at;
      return {
        data_plane_id: instance.data_plane_id,
        instance_id: instance.instance_id,
        healthy: heard !== null && now.getTime() - heard.getTime() <= heartbeatTimeoutMs,
        serving,
        loaded: serving === row.id,
      };
    }),
  };
}
