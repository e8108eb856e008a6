/**
 * Both planes in the test's own process, on real sockets, as a client with only `api_server` meets them: a
 * metadata plane (production mode, PGlite) and a data plane registered with it (its own token verification
 * against the metadata plane's keys), sharing a local object store; and deploying a bundled feature
 * repository through the API host.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataPlane, type DataPlane, type DataPlaneConfig } from '@slate/data-plane';
import { createMetadataPlane, type MetadataPlane, type MetadataPlaneConfig } from '@slate/metadata-plane';
import { collectGraph } from '@slate/sdk';
import { createLocalObjectStore, createMemoryOnlineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { build } from 'esbuild';
import { pino } from 'pino';

/** What `startInProcessPlanes` starts. */
export interface InProcessPlanesOptions {
  /** The folder their state goes under (`<prefix>objects`, `<prefix>db`, `<prefix>dp`). */
  readonly dir: string;
  /** Prefix of the state folders' names under `dir` (default none). */
  readonly prefix?: string;
  readonly registrationToken: string;
  /** Environments seeded under team `acme`, project `web` (unused when `seed` is given). */
  readonly environments?: readonly { readonly id: string; readonly name: string }[];
  /** The whole seed instead: teams, projects and environments of its own. */
  readonly seed?: MetadataPlaneConfig['seed'];
  /** The data plane's name. */
  readonly dataPlaneName: string;
  /** The data plane's gRPC port (none when absent). */
  readonly dataPlaneGrpcPort?: number;
  /** The metadata plane's `grpc` settings (its gRPC server is started by the caller, `listenGrpc`). */
  readonly metadataGrpc?: MetadataPlaneConfig['grpc'];
  /** More data-plane settings (background persistence, tracing). */
  readonly dataPlaneExtra?: Partial<Pick<DataPlaneConfig, 'offline' | 'tracing'>>;
}

/** Both planes, listening; `close` closes the data plane, then the metadata plane. */
export interface InProcessPlanes {
  readonly metadata: MetadataPlane;
  readonly dataPlane: DataPlane;
  /** The metadata plane's URL (`api_server`). */
  readonly api: string;
  /** The data plane's public URL. */
  readonly engine: string;
  close(): Promise<void>;
}

/**
 * Starts a metadata plane and a data plane registered with it, on free ports; closes what it started when
 * a step fails.
 *
 * @example
 * const planes = await startInProcessPlanes({ dir, registrationToken: 'r', environments: [{ id: 'dev', name: 'Dev' }], dataPlaneName: 'east' });
 * … finally: await planes.close();
 */
export async function startInProcessPlanes(options: InProcessPlanesOptions): Promise<InProcessPlanes> {
  const prefix = options.prefix ?? '';
  const [mpPort, dpPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${mpPort}`;
  const engine = `http://127.0.0.1:${dpPort}`;
  const objectStore = createLocalObjectStore({ root: join(options.dir, `${prefix}objects`) });
  await objectStore.init();
  const metadata = await createMetadataPlane({
    mode: 'production',
    database: { type: 'pglite', dataDir: join(options.dir, `${prefix}db`) },
    objectStore,
    apiServer: api,
    registrationToken: options.registrationToken,
    seed: options.seed ?? {
      teams: [{ id: 'acme', name: 'Acme' }],
      projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
      environments: (options.environments ?? []).map((e) => ({ ...e, project_id: 'web', team_id: 'acme' })),
    },
    ...(options.metadataGrpc ? { grpc: options.metadataGrpc } : {}),
    logger: pino({ level: 'silent' }),
  });
  let dataPlane: DataPlane | undefined;
  try {
    await metadata.listen({ port: mpPort });
    const onlineStore = createMemoryOnlineStore();
    await onlineStore.init();
    dataPlane = createDataPlane({
      name: options.dataPlaneName,
      publicUrl: engine,
      metadataPlaneUrl: api,
      registrationToken: options.registrationToken,
      objectStore,
      onlineStore,
      stateDir: join(options.dir, `${prefix}dp`),
      workers: 1,
      ...(options.dataPlaneGrpcPort === undefined ? {} : { grpc: { port: options.dataPlaneGrpcPort } }),
      logger: pino({ level: 'silent' }),
      ...options.dataPlaneExtra,
    });
    await dataPlane.start({ port: dpPort });
    await dataPlane.ready();
  } catch (error) {
    await dataPlane?.close();
    await metadata.close();
    throw error;
  }
  const started = dataPlane;
  return {
    metadata,
    dataPlane: started,
    api,
    engine,
    close: async () => {
      await started.close();
      await metadata.close();
    },
  };
}

/**
 * Deploys the feature repository at `entry` (bundled by esbuild; `repo` is the same module imported, for
 * its graph) to `api` with the access token `token`: the `POST /v1/deployments` answer.
 *
 * @example
 * import * as repo from './forwarding/forwarding-repo.ts';
 * const res = await deployRepository(api, token, new URL('./forwarding/forwarding-repo.ts', import.meta.url), repo);
 */
export async function deployRepository(
  api: string,
  token: string,
  entry: URL,
  repo: Record<string, unknown>,
): Promise<Response> {
  const bundle = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
  });
  const bytes = Buffer.from(bundle.outputFiles[0]!.contents);
  return fetch(`${api}/v1/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      graph: collectGraph(repo).artifact,
      bundle_base64: bytes.toString('base64'),
      source_hash: createHash('sha256').update(bytes).digest('hex'),
    }),
  });
}
