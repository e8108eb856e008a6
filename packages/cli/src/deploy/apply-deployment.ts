import {
  type Deployment,
  FAILED_DEPLOYMENT_STATUSES,
  getDeploymentRollout,
  type SlateClient,
} from '@slate/client';
import { SlateError } from '@slate/graph';
import type { GitState } from './git-metadata.ts';
import { type DeploymentPlan, formatPlan, formatSize, planDeployment } from './plan-deployment.ts';

export interface ApplyDeploymentOptions {
  /** The feature repository (holding `slate.yaml`). */
  readonly dir: string;
  readonly client: SlateClient;
  /** Wait until the data plane serves the deployment (default true). */
  readonly await?: boolean;
  /**
   * Upload even when the environment's current deployment already serves this exact bundle
   * (default false: such an apply is a no-op).
   */
  readonly force?: boolean;
  /** How long to wait for the data plane (default 120 000 ms). */
  readonly timeoutMs?: number;
  /** How often to look at the rollout while waiting (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Git metadata to record; default read with `git` from `dir`; `false` records none. */
  readonly git?: GitState | false;
  /** Receives each progress line (`▸ bundling… 41 kB`) and each lint finding. */
  readonly onProgress?: (line: string) => void;
  /** Type-check the repository before uploading (default true; see `type-check.ts`). */
  readonly typeCheck?: boolean;
  /** Clock for the durations in progress lines (default `performance.now`). */
  readonly now?: () => number;
}

/** What `applyDeployment` did. */
export interface ApplyDeploymentResult {
  readonly plan: DeploymentPlan;
  /** The same as `plan.build`. */
  readonly build: DeploymentPlan['build'];
  /** The deployment in its last observed state; with `unchanged`, the one already serving. */
  readonly deployment: Deployment;
  /** Nothing was uploaded: the environment already serves this bundle. */
  readonly unchanged: boolean;
}

/**
 * `slate apply` as a function: plan (collect, lint, bundle, target and diff against the active
 * deployment; see `planDeployment`), upload with the git commit, dirty mark and diff hash, and (by
 * default) follow the rollout on each data-plane instance until the deployment is ready. Lint errors stop
 * it before anything is uploaded.
 *
 * @throws SlateError `input`/`LINT_FAILED` on lint errors; `internal`/`DEPLOYMENT_<STATUS>` when the
 *   deployment ends `FAILURE`, `BOOT_ERRORS` or another failed status; `timeout`/`DEPLOYMENT_WAIT_TIMEOUT`;
 *   whatever the client throws.
 * @example
 * const { deployment } = await applyDeployment({ dir: '.', client, onProgress: console.log });
 */
export async function applyDeployment(options: ApplyDeploymentOptions): Promise<ApplyDeploymentResult> {
  const { client } = options;
  const progress = options.onProgress ?? (() => {});
  const now = options.now ?? (() => performance.now());

  const plan = await planDeployment({
    dir: options.dir,
    client,
    ...(options.git === undefined ? {} : { git: options.git }),
    onProgress: progress,
    typeCheck: options.typeCheck ?? true,
  });
  for (const line of formatPlan(plan)) progress(line);
  const { build } = plan;

  if (!options.force) {
    const current = (await client.listDeployments({ limit: 20 })).items.find((d) => d.desired);
    if (current?.status === 'SUCCESS' && current.source_hash === build.sourceHash) {
      progress(`▸ unchanged: deployment ${current.id} already serves this bundle (--force to deploy anyway)`);
      return { plan, build, deployment: current, unchanged: true };
    }
  }

  const started = now();
  progress(`▸ uploading… ${formatSize(build.bundle.byteLength)}`);
  const { dirty, ...git } = plan.git ?? { dirty: undefined };
  const created = await client.createDeployment({
    graph: build.artifact,
    bundle: build.bundle,
    sourceHash: build.sourceHash,
    ...(plan.git ? { git, dirty } : {}),
    diffHash: plan.diffHash,
  });
  progress(`▸ validation… accepted as deployment ${created.id} (${created.status})`);
  if (options.await === false) return { plan, build, deployment: created, unchanged: false };

  const deployment = await followRollout(client, created.id, {
    timeoutMs: options.timeoutMs ?? 120_000,
    intervalMs: options.pollIntervalMs ?? 500,
    now,
    progress,
  });
  const seconds = ((now() - started) / 1000).toFixed(1);
  if (deployment.status !== 'SUCCESS') {
    progress(`▸ rollout… ${deployment.status} after ${seconds}s`);
    throw new SlateError(
      'internal',
      `DEPLOYMENT_${deployment.status}`,
      `deployment ${deployment.id} ended ${deployment.status}${deployment.error ? `: ${deployment.error}` : ''}`,
      { deployment_id: deployment.id, status: deployment.status },
    );
  }
  progress(
    `▸ ready: deployment ${deployment.id} serves ${plan.target.environmentName} (${plan.target.environmentId}) after ${seconds}s`,
  );
  return { plan, build, deployment, unchanged: false };
}

/**
 * Polls `GET /v1/deployments/:id/rollout` until the deployment is `SUCCESS` or failed, printing each status
 * change and each data-plane instance as it starts serving the deployment.
 */
async function followRollout(
  client: SlateClient,
  id: string,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs: number;
    readonly now: () => number;
    readonly progress: (line: string) => void;
  },
): Promise<Deployment> {
  const deadline = options.now() + options.timeoutMs;
  const announced = new Set<string>();
  let lastStatus: string | undefined;
  for (;;) {
    const rollout = await getDeploymentRollout(client, id);
    if (rollout.status !== lastStatus) {
      lastStatus = rollout.status;
      options.progress(`▸ rollout… ${rollout.status}`);
    }
    for (const instance of rollout.instances) {
      const name = `${instance.data_plane_id}/${instance.instance_id}`;
      if (instance.loaded && !announced.has(name)) {
        announced.add(name);
        options.progress(`  ✓ ${name} serves ${id}`);
      }
    }
    const finished = rollout.status === 'SUCCESS' || FAILED_DEPLOYMENT_STATUSES.has(rollout.status);
    if (finished) {
      const waiting = rollout.instances.filter((i) => i.healthy && !i.loaded).length;
      if (rollout.status === 'SUCCESS' && waiting > 0)
        options.progress(`  … ${waiting} more instance${waiting === 1 ? '' : 's'} still loading it`);
      return client.getDeployment(id);
    }
    if (options.now() + options.intervalMs > deadline) {
      throw new SlateError(
        'timeout',
        'DEPLOYMENT_WAIT_TIMEOUT',
        `deployment ${id} is still ${rollout.status} after ${Math.round(options.timeoutMs / 1000)} s`,
        { deployment_id: id, status: rollout.status },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

export { formatSize } from './plan-deployment.ts';
