import type { SqlSources } from '@slate/engine';
import type { Bus, ObjectStore, OfflineStore, OnlineStore } from '@slate/stores';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { DeploymentLoader } from '../deployments/deployment-loader.ts';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { DataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import type { Tracing } from '../observability/tracing/tracing.ts';
import { createPersistenceWorker, type PersistenceWorker } from '../persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../persistence/persistence-writers.ts';
import { publishingEngine } from '../persistence/publishing-engine.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { offlineQueryRoutes } from './offline-query-routes.ts';
import {
  createOfflineQueryService,
  type OfflineQueryService,
  type RevisionRecord,
} from './offline-query-service.ts';

/** What a data plane needs for background persistence and offline queries. */
export interface DataPlaneOfflineConfig {
  /** The result bus (embedded log, Redis Streams or Kafka). */
  readonly bus: Bus;
  readonly offlineStore: OfflineStore;
  /**
   * Run the persistence worker in this process (the embedded default). Set false when it runs as its own
   * process (`createPersistenceWorker` over the same bus). Default true.
   */
  readonly runWorker?: boolean;
  /** How often unfinished offline queries of stopped data planes are looked for (default 30 s). */
  readonly recoverIntervalMs?: number;
  /**
   * Signs result download links (`urls` of `GET /v2/offline_query/{revision}`). Replicas behind one address
   * need the same key; default a random key per process.
   */
  readonly urlSigningKey?: string;
}

/** The offline side of a data plane: publishing, the persistence worker and the offline-query routes. */
export interface DataPlaneOffline {
  /** The offline-query routes, to register on the data plane's server. */
  readonly routes: FastifyPluginAsync;
  readonly service: OfflineQueryService;
  /** Makes loaded engines publish each query's computed values to the result bus. */
  wrapLoader(load: DeploymentLoader): DeploymentLoader;
  /**
   * Starts the persistence worker (when `runWorker`) and the periodic look-out for offline queries whose
   * data plane stopped (`service.recover`), which re-runs them once their environment's deployment is here.
   */
  start(): void;
  /**
   * Stops the look-out, waits for offline-query jobs, flushes publishing and stops the worker. The stores
   * belong to the caller.
   */
  close(): Promise<void>;
}

/**
 * Assembles background persistence (online, offline, query-log and usage writers on the result bus) and
 * the offline-query API for one data plane.
 *
 * @example
 * const offline = createDataPlaneOffline({ bus, offlineStore }, { served, onlineStore, objectStore, logger });
 * await app.register(offline.routes);
 * offline.start();
 */
export function createDataPlaneOffline(
  config: DataPlaneOfflineConfig,
  deps: {
    served: ServedEnvironments;
    onlineStore: OnlineStore;
    objectStore: ObjectStore;
    logger?: Logger;
    onRevision?: (record: RevisionRecord) => void;
    /** The environment's named SQL data sources, for `spine_sql_query`. */
    sqlSources?: (environment: { id: string; name: string }) => SqlSources;
    /** The persistence worker's consumer name (this instance's id; default `embedded`). */
    workerName?: string;
    /** Look out for, and take over, offline queries whose replica stopped (the `jobs` role). Default true. */
    recover?: boolean;
    /** Claims a take-over among replicas (see `OfflineQueryServiceOptions.claim`). */
    claim?: (key: string, ttlSeconds: number) => Promise<boolean>;
    /** The API host's public URL, for download links of requests it forwarded (`OfflineQueryRoutesOptions.apiHostUrl`). */
    apiHostUrl?: string;
    /** Where the result publisher's queue level, sheds and drops are exported. */
    metrics?: DataPlaneMetrics;
    /**
     * Traced queries' context goes out in their result messages' headers, and the persistence worker's
     * batches continue it. Off when absent.
     */
    tracing?: Tracing;
  },
): DataPlaneOffline {
  // Every online query publishes its query-log message here: lingering 5 ms lets a busy server send the
  // messages of many queries in one bus write (one Redis pipeline) instead of one or two per write.
  const publisher = createResultPublisher(config.bus, {
    logger: deps.logger,
    lingerMs: 5,
    headers: deps.tracing?.inject,
  });
  deps.metrics?.watchResultPublisher(() => publisher.stats());
  const service = createOfflineQueryService({
    served: deps.served,
    offlineStore: config.offlineStore,
    objectStore: deps.objectStore,
    publisher,
    logger: deps.logger,
    onRevision: deps.onRevision,
    sqlSources: deps.sqlSources,
    claim: deps.claim,
  });
  let worker: PersistenceWorker | undefined;
  let recovering: Promise<unknown> = Promise.resolve();
  let lookout: NodeJS.Timeout | undefined;
  const recover = () => {
    recovering = recovering
      .then(() => service.recover())
      .catch((error: unknown) => deps.logger?.warn({ err: error }, 'offline query recovery failed'));
  };
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(offlineQueryRoutes, {
      served: deps.served,
      service,
      urlSigningKey: config.urlSigningKey,
      apiHostUrl: deps.apiHostUrl,
    });
  };
  return {
    routes,
    service,
    wrapLoader: (load) => async (environment, deployment, secrets) =>
      publishingEngine(await load(environment, deployment, secrets), publisher, {
        environment: environment.id,
      }),
    start() {
      if (!lookout && deps.recover !== false) {
        recover();
        lookout = setInterval(recover, config.recoverIntervalMs ?? 30_000);
        lookout.unref();
      }
      if (config.runWorker === false || worker) return;
      worker = createPersistenceWorker({
        bus: config.bus,
        name: deps.workerName ?? 'embedded',
        // Each batch costs three offline commits (observations, query log, usage) whatever its size: under
        // a backlog, large batches are what lets persistence keep up with queries. Memory: two batches of
        // one query's message each (about 1 kB for the quickstart).
        batchMessages: 4_000,
        logger: deps.logger,
        tracing: deps.tracing,
        writers: createPersistenceWriters({
          onlineStore: deps.onlineStore,
          offlineStore: config.offlineStore,
        }),
      });
      worker.start();
    },
    async close() {
      clearInterval(lookout);
      await recovering;
      await service.idle();
      await publisher.flush();
      await worker?.stop();
    },
  };
}
