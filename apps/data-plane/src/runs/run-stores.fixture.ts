/**
 * What the runs integration tests (`runs.int.test.ts`, `runs-resume.int.test.ts`) run against: a log bus,
 * a local object store with the Parquet offline store on it, a memory online store, a persistence worker
 * writing the bus into both, and environment `environment` served with deployment `d1` (an engine over the
 * SQL `source`, named `app` in the graph).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime, createSqlRuntime } from '@slate/engine';
import type { collectGraph } from '@slate/sdk';
import {
  createLocalObjectStore,
  createLogBus,
  createMemoryOnlineStore,
  createParquetOfflineStore,
  type SqlSource,
} from '@slate/stores';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { createPersistenceWorker, type PersistenceWorker } from '../persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../persistence/persistence-writers.ts';

/** The stores, started; `close` stops the worker, closes `served` and the stores (not `source`) and removes their folder. */
export interface RunStores {
  readonly bus: ReturnType<typeof createLogBus>;
  readonly objects: ReturnType<typeof createLocalObjectStore>;
  readonly offline: ReturnType<typeof createParquetOfflineStore>;
  readonly online: ReturnType<typeof createMemoryOnlineStore>;
  readonly worker: PersistenceWorker;
  close(): Promise<void>;
}

/**
 * Starts the stores in a new temporary folder (named `<folderPrefix>…`) and serves `environment` on `served`.
 *
 * @example
 * const stores = await createRunStores({ folderPrefix: 'slate-runs-', source, graph: collectGraph({ Member, members }), environment: 'env-runs', served });
 */
export async function createRunStores(options: {
  readonly folderPrefix: string;
  readonly source: SqlSource;
  readonly graph: Pick<ReturnType<typeof collectGraph>, 'artifact' | 'functions'>;
  readonly environment: string;
  readonly served: ServedEnvironments;
}): Promise<RunStores> {
  const { artifact, functions } = options.graph;
  const root = await mkdtemp(join(tmpdir(), options.folderPrefix));
  const bus = createLogBus({ root: join(root, 'bus'), sync: false });
  await bus.init();
  const objects = createLocalObjectStore({ root: join(root, 'objects') });
  await objects.init();
  const offline = createParquetOfflineStore({ objectStore: objects, threads: 1 });
  await offline.init();
  const online = createMemoryOnlineStore();
  await online.init();
  const worker = createPersistenceWorker({
    bus,
    writers: createPersistenceWriters({ onlineStore: online, offlineStore: offline }),
    lingerMs: 5,
  });
  worker.start();
  const engine = createEngine({
    graph: artifact,
    runtime: createSqlRuntime({
      resolvers: artifact.resolvers,
      sources: new Map([['app', options.source]]),
      fallback: createInProcessRuntime(functions),
    }),
    onlineStore: online,
    environment: options.environment,
    deploymentId: 'd1',
  });
  options.served.upsert({ id: options.environment, name: 'dev', teamId: 't', projectId: 'p' });
  options.served.activate(options.environment, { id: 'd1', engine });
  return {
    bus,
    objects,
    offline,
    online,
    worker,
    close: async () => {
      await worker.stop();
      await options.served.close();
      await bus.close();
      await offline.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
