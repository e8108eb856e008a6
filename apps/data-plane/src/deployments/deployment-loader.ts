import { createHash } from 'node:crypto';
import { appendFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import {
  createEngine,
  createSqlRuntime,
  createWorkerRuntime,
  type Engine,
  type ResolverRuntime,
  type SqlSources,
  type WorkerModels,
} from '@slate/engine';
import { modelPartKey, modelRefKey, type PinnedModel, SlateError } from '@slate/graph';
import type { ObjectStore, OnlineStore } from '@slate/stores';
import type { DesiredEnvironment } from '../control-plane/control-plane-client.ts';

export type DesiredDeployment = NonNullable<DesiredEnvironment['desired_deployment']>;

/**
 * Turns a desired deployment into a ready engine (bundle fetched, verified, workers booted with the
 * environment's decrypted secrets, named queries planned).
 */
export type DeploymentLoader = (
  environment: DesiredEnvironment,
  deployment: DesiredDeployment,
  secrets?: Readonly<Record<string, string>>,
) => Promise<Engine>;

export interface DeploymentLoaderOptions {
  readonly objectStore: ObjectStore;
  readonly onlineStore?: OnlineStore;
  /** Local folder where bundles are cached by content hash. */
  readonly bundleDir: string;
  readonly workers?: number;
  readonly memoryLimitMb?: number;
  /** Wraps each deployment's resolver runtime (resolver metrics, usage metering), per environment. */
  readonly instrumentRuntime?: (runtime: ResolverRuntime, environmentId: string) => ResolverRuntime;
  /** The environment's named data sources, for SQL resolvers (run in this process, not in the workers). */
  readonly sqlSources?: (
    environment: { id: string; name: string },
    secrets: Readonly<Record<string, string>>,
  ) => SqlSources;
  /** Traces planning and carries traced resolver calls into the worker threads (see `createWorkerRuntime`). */
  readonly tracer?: Tracer;
}

/**
 * Creates the loader of deployments. Bundles are content-addressed: one fetched and verified before is
 * reused, and a bundle whose bytes do not match the hash the metadata plane recorded is refused.
 *
 * @throws SlateError `BUNDLE_NOT_FOUND`, `BUNDLE_CORRUPT` or `BUNDLE_LOAD_FAILED` from the returned loader.
 */
export function createDeploymentLoader(options: DeploymentLoaderOptions): DeploymentLoader {
  return async (environment, deployment, secrets = {}) => {
    const bundlePath = await fetchBundle(options, deployment.bundle);
    const models = await fetchModels(options, environment.id, deployment.graph.pinnedModels ?? []);
    const workerRuntime = await createWorkerRuntime({
      bundlePath,
      secrets,
      ...(models ? { models } : {}),
      workers: options.workers,
      memoryLimitMb: options.memoryLimitMb,
      tracer: options.tracer,
    });
    // SQL resolvers run their queries here against the environment's data sources; the rest in workers.
    const resolverRuntime = deployment.graph.resolvers.some((resolver) => resolver.sql)
      ? createSqlRuntime({
          resolvers: deployment.graph.resolvers,
          sources: options.sqlSources?.(environment, secrets) ?? new Map(),
          fallback: workerRuntime,
        })
      : workerRuntime;
    const runtime = options.instrumentRuntime
      ? options.instrumentRuntime(resolverRuntime, environment.id)
      : resolverRuntime;
    const engine = createEngine({
      graph: deployment.graph,
      runtime,
      onlineStore: options.onlineStore,
      environment: environment.id,
      environmentNames: [environment.name],
      deploymentId: deployment.id,
      tracer: options.tracer,
    });
    for (const query of deployment.graph.namedQueries)
      engine.prepare(query.inputs, query.outputs, query.tags);
    return engine;
  };
}

/**
 * Copies the deployment's pinned model artifacts from the `model` bucket into the local cache, one part at
 * a time (bounded memory), checking the whole sha256 before the file is named by it. Workers check it
 * again when they load it, so a cached file altered on disk is refused too (`MODEL_ARTIFACT_CORRUPT`).
 *
 * @throws SlateError not_found `MODEL_PART_NOT_FOUND`; input `MODEL_ARTIFACT_CORRUPT`.
 */
async function fetchModels(
  options: DeploymentLoaderOptions,
  environmentId: string,
  pinned: readonly PinnedModel[],
): Promise<WorkerModels | undefined> {
  if (pinned.length === 0) return undefined;
  const dir = join(options.bundleDir, 'models');
  await mkdir(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const model of pinned) {
    if (!/^[0-9a-f]{64}$/.test(model.sha256)) {
      throw new SlateError('input', 'MODEL_ARTIFACT_CORRUPT', `bad artifact hash '${model.sha256}'`);
    }
    const path = join(dir, `${model.sha256}.onnx`);
    paths[model.sha256] = path;
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      continue;
    const temporary = `${path}.${process.pid}.tmp`;
    const hash = createHash('sha256');
    try {
      await writeFile(temporary, new Uint8Array());
      for (const part of model.parts) {
        const bytes = await options.objectStore.get('model', modelPartKey(environmentId, part.sha256));
        if (!bytes) {
          throw new SlateError(
            'not_found',
            'MODEL_PART_NOT_FOUND',
            `part ${part.sha256} of ${model.name} v${model.version} is not in the model bucket`,
          );
        }
        hash.update(bytes);
        await appendFile(temporary, bytes);
      }
      const actual = hash.digest('hex');
      if (actual !== model.sha256) {
        throw new SlateError(
          'input',
          'MODEL_ARTIFACT_CORRUPT',
          `the artifact of ${model.name} v${model.version} hashes to ${actual}, not ${model.sha256}`,
        );
      }
      await rename(temporary, path);
    } finally {
      await rm(temporary, { force: true });
    }
  }
  const byRef = Object.fromEntries(
    pinned.map((m) => [
      modelRefKey(m.alias ? { name: m.name, alias: m.alias } : { name: m.name, version: m.version }),
      m,
    ]),
  );
  return { pinned: byRef, paths };
}

async function fetchBundle(
  options: DeploymentLoaderOptions,
  bundle: DesiredDeployment['bundle'],
): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(bundle.sha256))
    throw new SlateError('input', 'BUNDLE_CORRUPT', `bad bundle hash '${bundle.sha256}'`);
  const path = join(options.bundleDir, `${bundle.sha256}.mjs`);
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  )
    return path;
  const bytes = await options.objectStore.get(bundle.bucket, bundle.key);
  if (!bytes)
    throw new SlateError(
      'not_found',
      'BUNDLE_NOT_FOUND',
      `bundle ${bundle.key} is not in the ${bundle.bucket} bucket`,
    );
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== bundle.sha256)
    throw new SlateError(
      'input',
      'BUNDLE_CORRUPT',
      `bundle ${bundle.key} has hash ${actual}, expected ${bundle.sha256}`,
    );
  await mkdir(options.bundleDir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
  return path;
}
