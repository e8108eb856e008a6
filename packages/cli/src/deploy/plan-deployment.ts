import { getEnvironment, type SlateClient, sha256Hex } from '@slate/client';
import { type GraphArtifact, GraphArtifactSchema, SlateError } from '@slate/graph';
import { bundleProject, collectProject, type DeploymentBuild, formatLintIssue } from './build-deployment.ts';
import { type GitState, readGitMetadata } from './git-metadata.ts';
import { diffGraphs, diffHash, formatGraphDiff, type GraphDiff } from './graph-diff.ts';

/** Where a deployment goes. */
export interface DeploymentTarget {
  readonly apiServer: string;
  readonly teamId: string | null;
  readonly projectId: string | null;
  readonly environmentId: string;
  readonly environmentName: string;
}

/** What `slate diff` shows and `slate apply` deploys. */
export interface DeploymentPlan {
  readonly build: DeploymentBuild;
  readonly target: DeploymentTarget;
  /** The environment's active deployment the diff is taken against (null: none yet). */
  readonly base: { readonly id: string; readonly sourceHash: string | null } | null;
  readonly diff: GraphDiff;
  /** The bundle (the resolvers' code) differs from the active deployment's. */
  readonly bundleChanged: boolean;
  /** Hex sha256 of the diff and the bundles it goes between (see `diffHash`). */
  readonly diffHash: string;
  /** The git commit and dirty mark; undefined outside git. */
  readonly git: GitState | undefined;
}

export interface PlanDeploymentOptions {
  readonly dir: string;
  readonly client: SlateClient;
  /** Git facts to record; default read with `git` from `dir`; `false` records none. */
  readonly git?: GitState | false;
  /** Receives each progress line and lint finding. */
  readonly onProgress?: (line: string) => void;
  /** Type-check the repository (default true; see `type-check.ts`). */
  readonly typeCheck?: boolean;
}

/**
 * Collects, lints and bundles the feature repository, finds the target (server, team, project,
 * environment) and diffs the graph against the environment's active deployment. Uploads nothing.
 *
 * @throws SlateError `input`/`LINT_FAILED` on lint errors; whatever collecting the project and the client
 *   throw; `internal`/`INVALID_ACTIVE_GRAPH` when the active deployment's graph cannot be read.
 * @example
 * const plan = await planDeployment({ dir: '.', client });
 * console.log(formatPlan(plan).join('\n'));
 */
export async function planDeployment(options: PlanDeploymentOptions): Promise<DeploymentPlan> {
  const { client, dir } = options;
  const progress = options.onProgress ?? (() => {});
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
      { lint: errors.map((issue) => formatLintIssue(issue, config.dir)) },
    );
  }
  const bundle = await bundleProject(config);
  const build: DeploymentBuild = { ...collected, bundle, sourceHash: await sha256Hex(bundle) };
  progress(`▸ bundling… ${formatSize(bundle.byteLength)}`);

  const [environment, git] = await Promise.all([
    getEnvironment(client),
    options.git === false ? undefined : (options.git ?? readGitMetadata(config.dir)),
  ]);
  const target: DeploymentTarget = {
    apiServer: client.apiServer,
    teamId: environment.team_id ?? null,
    projectId: environment.project_id ?? null,
    environmentId: environment.id,
    environmentName: environment.name,
  };
  const activeId = environment.active_deployment_id ?? null;
  let base: DeploymentPlan['base'] = null;
  let before: GraphArtifact | undefined;
  if (activeId) {
    const active = await client.getDeployment(activeId);
    const parsed = GraphArtifactSchema.safeParse((active as { graph?: unknown }).graph);
    if (!parsed.success)
      throw new SlateError(
        'internal',
        'INVALID_ACTIVE_GRAPH',
        `the graph of the active deployment ${activeId} cannot be read: ${parsed.error.issues[0]?.message}`,
      );
    before = parsed.data;
    base = { id: activeId, sourceHash: active.source_hash ?? null };
  }
  const diff = diffGraphs(before, artifact);
  return {
    build,
    target,
    base,
    diff,
    bundleChanged: base?.sourceHash !== build.sourceHash,
    diffHash: diffHash(diff, base?.sourceHash ?? null, build.sourceHash),
    git,
  };
}

/** The lines `slate diff` and `slate apply` print about a plan: target, diff, code change, hash. */
export function formatPlan(plan: DeploymentPlan): string[] {
  const { target } = plan;
  const lines = [
    `▸ target  ${target.apiServer} · team ${target.teamId ?? '-'} · project ${target.projectId ?? '-'} · ` +
      `environment ${target.environmentName} (${target.environmentId})`,
    plan.base
      ? `▸ diff against active deployment ${plan.base.id}`
      : '▸ diff against nothing: no deployment is active',
  ];
  const changes = formatGraphDiff(plan.diff);
  lines.push(
    ...(changes.length > 0
      ? changes.map((line) => `  ${line}`)
      : ['  no feature, resolver or schedule changes']),
  );
  lines.push(
    `  code ${plan.bundleChanged ? 'changed' : 'unchanged'} (bundle ${plan.build.sourceHash.slice(0, 12)})`,
  );
  if (plan.git) {
    lines.push(
      `▸ git     ${plan.git.commit?.slice(0, 12) ?? '-'} on ${plan.git.branch ?? '-'}${plan.git.dirty ? ' (dirty: uncommitted changes)' : ''}`,
    );
  }
  lines.push(`▸ diff hash ${plan.diffHash}`);
  return lines;
}

/** The plan as `--json` prints it. */
export function planJson(plan: DeploymentPlan): Record<string, unknown> {
  return {
    target: {
      api_server: plan.target.apiServer,
      team_id: plan.target.teamId,
      project_id: plan.target.projectId,
      environment_id: plan.target.environmentId,
      environment_name: plan.target.environmentName,
    },
    base_deployment_id: plan.base?.id ?? null,
    features: plan.diff.features,
    resolvers: plan.diff.resolvers,
    schedules: plan.diff.schedules,
    code_changed: plan.bundleChanged,
    source_hash: plan.build.sourceHash,
    diff_hash: plan.diffHash,
    git: plan.git ?? null,
    lint: plan.build.lint,
  };
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `41 kB`, `1.2 MB`: decimal units, as npm and esbuild print them. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
