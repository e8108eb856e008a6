import { type GraphArtifact, GraphArtifactSchema, SlateError } from '@slate/graph';
import type { ObjectStore } from '@slate/stores';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { assertCan, type Principal, principalLabel } from '../auth/principal.ts';
import { getEnvironment } from '../catalog/catalog.ts';
import { bumpEnvironmentRevision } from '../data-planes/data-planes.ts';
import type { RevisionNotifier } from '../data-planes/revision-notifier.ts';
import type { Database, DeploymentRow, EnvironmentRow } from '../db/schema.ts';
import { newDeploymentId, sha256Hex } from '../ids.ts';
import { pinModels } from '../models/model-registry.ts';
import { decodeCursor, type Page, type PageQuery, toPage } from '../pagination.ts';
import { formatPath } from '../seed/seed.ts';
import type { DeploymentStatus } from './deployment-status.ts';

/** What deployment operations need. */
export interface DeploymentDeps {
  readonly db: Kysely<Database>;
  readonly objectStore: ObjectStore;
  readonly notifier: RevisionNotifier;
  readonly now: () => Date;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const CreateDeploymentSchema = z.object({
  /** Required for user sessions; a service token deploys to its own environment. */
  environment_id: z.string().min(1).optional(),
  /** Validated separately so graph problems get their own code (`INVALID_GRAPH`). */
  graph: z.unknown(),
  bundle_base64: z.string().regex(BASE64, 'must be base64'),
  source_hash: z.string().regex(SHA256_HEX, 'must be the lowercase hex sha256 of the bundle'),
  git: z
    .object({
      commit: z.string().optional(),
      branch: z.string().optional(),
      author: z.string().optional(),
      message: z.string().optional(),
    })
    .optional(),
  /** The working tree had changes not in `git.commit` (`slate apply` records it). */
  dirty: z.boolean().optional(),
  /** sha256 (hex) of the diff against the active deployment, as `slate diff` shows it. */
  diff_hash: z.string().regex(SHA256_HEX, 'must be a lowercase hex sha256').optional(),
});
export type CreateDeploymentInput = z.input<typeof CreateDeploymentSchema>;

/** The short answer to create/redeploy. */
export interface DeploymentRef {
  readonly id: string;
  readonly status: DeploymentStatus;
  readonly environment_id: string;
  readonly created_at: string;
}

/** Wire shape of a deployment in lists and `GET /v1/deployments/:id`. */
export interface DeploymentView extends DeploymentRef {
  readonly source_hash: string;
  readonly bundle: { readonly bucket: 'source'; readonly key: string };
  readonly git: Record<string, string> | null;
  /** The working tree had uncommitted changes at apply (null: not recorded). */
  readonly dirty: boolean | null;
  /** sha256 of the diff against the deployment active at apply (null: not recorded). */
  readonly diff_hash: string | null;
  readonly created_by: string;
  readonly activated_at: string | null;
  readonly error: string | null;
  /** The data plane reports this deployment as serving. */
  readonly active: boolean;
  /** This deployment is what the data plane is asked to serve. */
  readonly desired: boolean;
  readonly graph_summary: GraphSummary;
}

export interface GraphSummary {
  readonly namespaces: number;
  readonly features: number;
  readonly resolvers: number;
  readonly named_queries: number;
}

/** Key of a bundle in the `source` bucket: content-addressed, so re-deploying the same code stores nothing new. */
export function bundleKey(environmentId: string, sha256: string): string {
  return `env/${environmentId}/bundles/${sha256}.mjs`;
}

/**
 * Creates a deployment and makes it the environment's desired one. The deployment is `PENDING` while
 * its bundle is stored, then `DEPLOYING`; it turns `SUCCESS` or `BOOT_ERRORS` only when the data plane
 * reports loading it. The previously active deployment keeps serving until then.
 *
 * @throws SlateError input `INVALID_GRAPH` (with `issues`), `SOURCE_HASH_MISMATCH`, `ENVIRONMENT_REQUIRED`;
 *   not_allowed `PERMISSION_DENIED`; not_found `ENVIRONMENT_NOT_FOUND`.
 */
export async function createDeployment(
  deps: DeploymentDeps,
  principal: Principal,
  input: CreateDeploymentInput,
): Promise<DeploymentRef> {
  const body = CreateDeploymentSchema.parse(input);
  const environmentId = body.environment_id ?? principal.environmentId;
  if (!environmentId) {
    throw new SlateError(
      'input',
      'ENVIRONMENT_REQUIRED',
      'environment_id is required when deploying as a user',
    );
  }
  const env = await getEnvironment(deps.db, environmentId);
  assertCan(principal, 'deploy.create', { teamId: env.team_id, environmentId: env.id });

  // Models are pinned now: an alias moved later reaches this environment only with a new deployment.
  const declared = parseGraph(body.graph);
  const graph: GraphArtifact = {
    ...declared,
    pinnedModels: declared.models?.length ? await pinModels(deps.db, env.id, declared.models) : undefined,
  };
  const bundle = Buffer.from(body.bundle_base64, 'base64');
  const actual = sha256Hex(bundle);
  if (actual !== body.source_hash) {
    throw new SlateError(
      'input',
      'SOURCE_HASH_MISMATCH',
      `source_hash ${body.source_hash} does not match the bundle (sha256 ${actual})`,
      {
        expected: body.source_hash,
        actual,
      },
    );
  }
  const key = bundleKey(env.id, actual);
  if (!(await deps.objectStore.head('source', key))) {
    await deps.objectStore.put('source', key, bundle, { contentType: 'text/javascript' });
  }

  const id = newDeploymentId();
  const row = await deps.db
    .insertInto('deployments')
    .values({
      id,
      environment_id: env.id,
      status: 'PENDING',
      graph: JSON.stringify(graph),
      bundle_key: key,
      source_hash: actual,
      git: body.git ? JSON.stringify(body.git) : null,
      dirty: body.dirty ?? null,
      diff_hash: body.diff_hash ?? null,
      created_by: principalLabel(principal),
      created_at: deps.now(),
    })
    .returning(['created_at'])
    .executeTakeFirstOrThrow();
  await makeDesired(deps, env, id);
  return { id, status: 'DEPLOYING', environment_id: env.id, created_at: row.created_at.toISOString() };
}

function parseGraph(graph: unknown): GraphArtifact {
  const result = GraphArtifactSchema.safeParse(graph);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({
      path: formatPath(['graph', ...i.path]),
      message: i.message,
    }));
    throw new SlateError(
      'input',
      'INVALID_GRAPH',
      `the graph is invalid: ${issues.length} problem(s), first at ${issues[0]?.path}`,
      {
        issues,
      },
    );
  }
  return result.data;
}

async function makeDesired(deps: DeploymentDeps, env: EnvironmentRow, deploymentId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('deployments')
      .set({ status: 'DEPLOYING', error: null })
      .where('id', '=', deploymentId)
      .execute();
    await trx
      .updateTable('environments')
      .set({ desired_deployment_id: deploymentId })
      .where('id', '=', env.id)
      .execute();
  });
  await bumpEnvironmentRevision(deps.db, deps.notifier, env.id);
}

/**
 * Makes an earlier deployment the desired one again (rollback). Its bundle is still in the source
 * bucket, so nothing is rebuilt; it is `DEPLOYING` until the data plane reports it loaded.
 *
 * @throws SlateError not_found `DEPLOYMENT_NOT_FOUND`; not_allowed `PERMISSION_DENIED`.
 */
export async function redeploy(
  deps: DeploymentDeps,
  principal: Principal,
  deploymentId: string,
): Promise<DeploymentRef> {
  const deployment = await findDeployment(deps.db, deploymentId);
  const env = await getEnvironment(deps.db, deployment.environment_id);
  assertCan(principal, 'deploy.redeploy', { teamId: env.team_id, environmentId: env.id });
  await makeDesired(deps, env, deployment.id);
  return {
    id: deployment.id,
    status: 'DEPLOYING',
    environment_id: env.id,
    created_at: deployment.created_at.toISOString(),
  };
}

async function findDeployment(db: Kysely<Database>, id: string): Promise<DeploymentRow> {
  const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'DEPLOYMENT_NOT_FOUND', `deployment ${id} does not exist`);
  return row;
}

/**
 * One deployment with its whole graph (the list endpoint carries only `graph_summary`).
 * @throws SlateError not_found `DEPLOYMENT_NOT_FOUND`; not_allowed `PERMISSION_DENIED`.
 */
export async function getDeployment(
  db: Kysely<Database>,
  principal: Principal,
  id: string,
): Promise<DeploymentView & { readonly graph: GraphArtifact }> {
  const row = await findDeployment(db, id);
  const env = await getEnvironment(db, row.environment_id);
  assertCan(principal, 'deploy.read', { teamId: env.team_id, environmentId: env.id });
  return { ...deploymentView(row, env), graph: row.graph as GraphArtifact };
}

/** Deployment history of one environment, newest first. */
export async function listDeployments(
  db: Kysely<Database>,
  principal: Principal,
  environmentId: string | undefined,
  page: PageQuery,
): Promise<Page<DeploymentView>> {
  const envId = environmentId ?? principal.environmentId;
  if (!envId) throw new SlateError('input', 'ENVIRONMENT_REQUIRED', 'environment_id is required');
  const env = await getEnvironment(db, envId);
  assertCan(principal, 'deploy.read', { teamId: env.team_id, environmentId: env.id });
  let q = db.selectFrom('deployments').selectAll().where('environment_id', '=', env.id);
  if (page.cursor) q = q.where('seq', '<', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(
    rows,
    page.limit,
    (r) => r.seq,
    (r) => deploymentView(r, env),
  );
}

function deploymentView(row: DeploymentRow, env: EnvironmentRow): DeploymentView {
  return {
    id: row.id,
    status: row.status as DeploymentStatus,
    environment_id: row.environment_id,
    created_at: row.created_at.toISOString(),
    source_hash: row.source_hash,
    bundle: { bucket: 'source', key: row.bundle_key },
    git: row.git,
    dirty: row.dirty,
    diff_hash: row.diff_hash,
    created_by: row.created_by,
    activated_at: row.activated_at?.toISOString() ?? null,
    error: row.error,
    active: env.active_deployment_id === row.id,
    desired: env.desired_deployment_id === row.id,
    graph_summary: summarize(row.graph as GraphArtifact),
  };
}

function summarize(graph: GraphArtifact): GraphSummary {
  return {
    namespaces: graph.namespaces.length,
    features: graph.namespaces.reduce((n, ns) => n + ns.features.length, 0),
    resolvers: graph.resolvers.length,
    named_queries: graph.namedQueries.length,
  };
}
