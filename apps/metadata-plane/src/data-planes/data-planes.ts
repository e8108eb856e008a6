import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { type Provisioning, provisioningOf } from '../catalog/catalog-admin.ts';
import type { Database } from '../db/schema.ts';
import { type DesiredSecret, desiredSecrets } from '../secrets/secrets.ts';
import { type TokenRevocation, tokenRevocations } from '../tokens/token-revocations.ts';
import type { RevisionNotifier } from './revision-notifier.ts';

/** What a data plane should run: one entry per environment assigned to it. */
export interface DesiredState {
  readonly revision: number;
  readonly environments: DesiredEnvironment[];
  /** Service tokens of these environments revoked or rotated within the longest access-token lifetime. */
  readonly revoked_tokens: TokenRevocation[];
}

export interface DesiredEnvironment {
  readonly id: string;
  readonly name: string;
  readonly project_id: string;
  readonly team_id: string;
  readonly desired_deployment: DesiredDeployment | null;
  /** What to provision for the environment (object-storage prefixes, online-store namespace). */
  readonly provisioning: Provisioning;
  /** The environment's secrets, each sealed to this data plane's public key. */
  readonly secrets: DesiredSecret[];
}

export interface DesiredDeployment {
  readonly id: string;
  readonly bundle: { readonly bucket: 'source'; readonly key: string; readonly sha256: string };
  readonly graph: unknown;
}

/**
 * Gives every environment without a data plane to the first registered one (oldest, then by id, so the
 * choice is deterministic across replicas). Returns how many environments were assigned.
 */
export async function assignUnassignedEnvironments(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
): Promise<number> {
  const first = await db
    .selectFrom('data_planes')
    .select('id')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (!first) return 0;
  const result = await db
    .updateTable('environments')
    .set({ data_plane_id: first.id })
    .where('data_plane_id', 'is', null)
    .executeTakeFirst();
  const assigned = Number(result.numUpdatedRows);
  if (assigned > 0) await bumpRevision(db, notifier, first.id);
  return assigned;
}

/** Marks that something `dataPlaneId` should know changed, and wakes its long polls. */
export async function bumpRevision(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  dataPlaneId: string,
): Promise<void> {
  await db
    .updateTable('data_planes')
    .set({ revision: sql`revision + 1` })
    .where('id', '=', dataPlaneId)
    .execute();
  notifier.notify(dataPlaneId);
}

/** Bumps the revision of the data plane serving `environmentId`, if it has one. */
export async function bumpEnvironmentRevision(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  environmentId: string,
): Promise<void> {
  const env = await db
    .selectFrom('environments')
    .select('data_plane_id')
    .where('id', '=', environmentId)
    .executeTakeFirst();
  if (env?.data_plane_id) await bumpRevision(db, notifier, env.data_plane_id);
}

/** Reads the desired state of a data plane now. */
export async function readDesiredState(
  db: Kysely<Database>,
  dataPlaneId: string,
  now: Date = new Date(),
): Promise<DesiredState> {
  return db.transaction().execute(async (trx) => {
    // The revision is read before the environments: a change racing with this read bumps the revision
    // again after it, so the data plane hears about it on its next poll instead of missing it.
    const plane = await trx
      .selectFrom('data_planes')
      .select('revision')
      .where('id', '=', dataPlaneId)
      .executeTakeFirstOrThrow();
    const rows = await trx
      .selectFrom('environments')
      .leftJoin('deployments', 'deployments.id', 'environments.desired_deployment_id')
      .select([
        'environments.id',
        'environments.name',
        'environments.project_id',
        'environments.team_id',
        'deployments.id as deployment_id',
        'deployments.bundle_key',
        'deployments.source_hash',
        'deployments.graph',
      ])
      .where('environments.data_plane_id', '=', dataPlaneId)
      .orderBy('environments.id')
      .execute();
    const secrets = await desiredSecrets(trx, dataPlaneId);
    const revoked = await tokenRevocations(trx, dataPlaneId, now);
    return {
      revision: Number(plane.revision),
      revoked_tokens: revoked,
      environments: rows.map((r) => ({
        id: r.id,
        name: r.name,
        project_id: r.project_id,
        team_id: r.team_id,
        desired_deployment:
          r.deployment_id && r.bundle_key && r.source_hash
            ? {
                id: r.deployment_id,
                bundle: { bucket: 'source' as const, key: r.bundle_key, sha256: r.source_hash },
                graph: r.graph,
              }
            : null,
        provisioning: provisioningOf(r.id),
        secrets: secrets.get(r.id) ?? [],
      })),
    };
  });
}

/** How often a long poll re-reads the revision even without an in-process wake-up (other replicas). */
export const CROSS_REPLICA_POLL_MS = 1_000;

/**
 * Long poll: returns as soon as the revision differs from `since` (normally: is newer), or when `waitMs`
 * elapses (then with the current state, whatever its revision). `since` omitted returns immediately.
 */
export async function waitForDesiredState(
  db: Kysely<Database>,
  notifier: RevisionNotifier,
  dataPlaneId: string,
  options: { since?: number; waitMs: number; signal?: AbortSignal; now?: () => Date },
): Promise<DesiredState> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    if (options.since === undefined) return readDesiredState(db, dataPlaneId, options.now?.());
    const plane = await db
      .selectFrom('data_planes')
      .select('revision')
      .where('id', '=', dataPlaneId)
      .executeTakeFirstOrThrow();
    const remaining = deadline - Date.now();
    // `!==` rather than `>`: a `since` from the future (the data plane talked to a restored database)
    // must get the current state now, not after a full wait.
    if (Number(plane.revision) !== options.since || remaining <= 0 || options.signal?.aborted) {
      return readDesiredState(db, dataPlaneId, options.now?.());
    }
    await notifier.wait(dataPlaneId, Math.min(remaining, CROSS_REPLICA_POLL_MS), options.signal);
  }
}

export const StatusReportSchema = z.object({
  environments: z.array(
    z
      .object({
        id: z.string().min(1),
        active_deployment_id: z.string().min(1).nullable(),
        deployment_id: z.string().min(1).nullable().optional(),
        state: z.enum(['loaded', 'failed']).optional(),
        error: z.string().max(20_000).optional(),
        /** What the data plane has provisioned for the environment (echoes the desired `provisioning`). */
        provisioned: z
          .object({
            object_prefixes: z.record(z.string(), z.string()),
            online_namespace: z.string(),
          })
          .optional(),
        /** Secrets the data plane could not open (e.g. sealed to a key it no longer has). */
        secret_errors: z.array(z.string()).max(1000).optional(),
      })
      .refine((e) => !e.deployment_id || e.state !== undefined, {
        message: 'state is required with deployment_id',
        path: ['state'],
      }),
  ),
});
export type StatusReport = z.input<typeof StatusReportSchema>;

/** What a status report changed; entries for environments not assigned to the reporter are ignored. */
export interface StatusReportResult {
  readonly updated: string[];
  readonly ignored: string[];
}

/**
 * Applies a data plane's observed state. Each claim is checked against the database (the environment
 * must be assigned to this data plane; deployments must belong to that environment) rather than trusted,
 * and rows are written only when a value changes. `loaded` → `SUCCESS`, `failed` → `BOOT_ERRORS`.
 */
export async function reportStatus(
  db: Kysely<Database>,
  dataPlaneId: string,
  report: StatusReport,
  now: Date,
): Promise<StatusReportResult> {
  const parsed = StatusReportSchema.parse(report);
  const updated: string[] = [];
  const ignored: string[] = [];
  await db.transaction().execute(async (trx) => {
    // Freshness (last_heartbeat_at) comes from the heartbeat queue, not from here.
    await trx
      .updateTable('data_planes')
      .set({ status: JSON.stringify(parsed) })
      .where('id', '=', dataPlaneId)
      .execute();
    for (const e of parsed.environments) {
      const env = await trx
        .selectFrom('environments')
        .select(['id', 'active_deployment_id', 'desired_deployment_id', 'provisioned'])
        .where('id', '=', e.id)
        .where('data_plane_id', '=', dataPlaneId)
        .executeTakeFirst();
      if (!env) {
        ignored.push(e.id);
        continue;
      }
      const belongs = async (deploymentId: string) =>
        (await trx
          .selectFrom('deployments')
          .select('id')
          .where('id', '=', deploymentId)
          .where('environment_id', '=', env.id)
          .executeTakeFirst()) !== undefined;
      if (e.deployment_id && e.state && (await belongs(e.deployment_id))) {
        if (e.state === 'loaded') {
          await trx
            .updateTable('deployments')
            .set({ status: 'SUCCESS', activated_at: now, error: null })
            .where('id', '=', e.deployment_id)
            .where('status', '!=', 'SUCCESS')
            .execute();
        } else {
          const error = e.error ?? 'the data plane could not load the deployment';
          await trx
            .updateTable('deployments')
            .set({ status: 'BOOT_ERRORS', error })
            .where('id', '=', e.deployment_id)
            .where(sql<boolean>`(status, error) is distinct from (${'BOOT_ERRORS'}, ${error})`)
            .execute();
        }
      }
      const active =
        e.active_deployment_id && (await belongs(e.active_deployment_id)) ? e.active_deployment_id : null;
      // Replicas report one after another: once the environment is active on its desired deployment, a
      // replica still on an earlier one of its deployments (converging) does not move it back.
      const lagging =
        env.desired_deployment_id !== null &&
        env.active_deployment_id === env.desired_deployment_id &&
        active !== null &&
        active !== env.desired_deployment_id;
      if (active !== env.active_deployment_id && !lagging) {
        await trx
          .updateTable('environments')
          .set({ active_deployment_id: active })
          .where('id', '=', env.id)
          .execute();
      }
      if (e.provisioned && JSON.stringify(e.provisioned) !== JSON.stringify(env.provisioned)) {
        await trx
          .updateTable('environments')
          .set({ provisioned: JSON.stringify(e.provisioned), provisioned_at: now })
          .where('id', '=', env.id)
          .execute();
      }
      updated.push(env.id);
    }
  });
  return { updated, ignored };
}
