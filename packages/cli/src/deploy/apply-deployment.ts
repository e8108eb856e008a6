import { type Deployment, type GitMetadata, type SlateClient, sha256Hex } from '@slate/client';
import { SlateError } from '@slate/graph';
import { bundleProject, collectProject, type DeploymentBuild, formatLintIssue } from './build-deployment.ts';
import { readGitMetadata } from './git-metadata.ts';

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
  /** Git metadata to record; default read with `git` from `dir`; `false` records none. */
  readonly git?: GitMetadata | false;
  /** Receives each progress line (`▸ bundling… 41 kB`) and each lint finding. */
  readonly onProgress?: (line: string) => void;
  /** Type-check the repository before uploading (default true; see `type-check.ts`). */
  readonly typeCheck?: boolean;
  /** Clock for the durations in progress lines (default `performance.now`). */
  readonly now?: () => number;
}

/** What `applyDeployment` did. */
export interface ApplyDeploymentResult {
  readonly build: DeploymentBuild;
  /** The deployment in its last observed state; with `unchanged`, the one already serving. */
  readonly deployment: Deployment;
  /** Nothing was uploaded: the environment already serves this bundle. */
  readonly unchanged: boolean;
}

/**
 * `slate apply` as a function: collect and lint the graph, bundle, upload, and (by default) wait until the
 * data plane serves it. Lint errors stop it before anything is uploaded.
 *
 * @throws SlateError `input`/`LINT_FAILED` on lint errors; `internal`/`DEPLOYMENT_<STATUS>` when the
 *   deployment ends `FAILURE`, `BOOT_ERRORS` or another failed status; whatever the client throws.
 * @example
 * const { deployment } = await applyDeployment({ dir: '.', client, onProgress: console.log });
 */
export async function applyDeployment(options: ApplyDeploymentOptions): Promise<ApplyDeploymentResult> {
  const { client, dir } = options;
  const progress = options.onProgress ?? (() => {});
  const now = options.now ?? (() => performance.now());

  const collected = await collectProject(dir, { typeCheck: options.typeCheck ?? true });
  const { artifact, config, lint } = collected;
  progress(
    `▸ collecting graph… ${plural(artifact.namespaces.length, 'namespace')}, ${plural(artifact.resolvers.length, 'resolver')}`,
  );
  for (const issue of lint) progress(`  ${formatLintIssue(issue, config.dir)}`);
  const errors = lint.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) {
    throw new SlateError(
      'input',
      'LINT_FAILED',
      `${plural(errors.length, 'lint error')}; nothing was uploaded`,
      {
        lint: errors.map((issue) => formatLintIssue(issue, config.dir)),
      },
    );
  }

  const bundle = await bundleProject(config);
  const sourceHash = await sha256Hex(bundle);
  const build: DeploymentBuild = { ...collected, bundle, sourceHash };
  progress(`▸ bundling… ${formatSize(bundle.byteLength)}`);

  if (!options.force) {
    const current = (await client.listDeployments({ limit: 20 })).items.find((d) => d.desired);
    if (current?.status === 'SUCCESS' && current.source_hash === sourceHash) {
      progress(`▸ unchanged: deployment ${current.id} already serves this bundle (--force to deploy anyway)`);
      return { build, deployment: current, unchanged: true };
    }
  }

  const git = options.git === false ? undefined : (options.git ?? (await readGitMetadata(config.dir)));
  const created = await client.createDeployment({
    graph: artifact,
    bundle,
    sourceHash,
    ...(git ? { git } : {}),
  });
  progress(`▸ uploading deployment ${created.id}… ${created.status}`);
  if (options.await === false) return { build, deployment: created, unchanged: false };

  const started = now();
  const deployment = await client.waitForDeployment(created.id, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const seconds = ((now() - started) / 1000).toFixed(1);
  progress(`▸ waiting for the data plane… ${deployment.status} in ${seconds}s`);
  if (deployment.status !== 'SUCCESS') {
    throw new SlateError(
      'internal',
      `DEPLOYMENT_${deployment.status}`,
      `deployment ${deployment.id} ended ${deployment.status}${deployment.error ? `: ${deployment.error}` : ''}`,
      { deployment_id: deployment.id, status: deployment.status },
    );
  }
  return { build, deployment, unchanged: false };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `41 kB`, `1.2 MB`: decimal units, as npm and esbuild print them. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
