import { join } from 'node:path';
import type { ObjectStore, OnlineStore } from '@slate/stores';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { createTokenVerifier } from './auth/token-verifier.ts';
import { createBatchStatusReporter } from './control-plane/batch-status-reporter.ts';
import { registerDataPlane } from './control-plane/control-plane-client.ts';
import { createDeploymentLoader } from './deployments/deployment-loader.ts';
import { createEnvironmentProvisioner } from './deployments/environment-provisioner.ts';
import { type Reconciler, startReconciler } from './deployments/reconciler.ts';
import { ServedEnvironments } from './deployments/served-environments.ts';
import { createOnlineStoreFeatureWriter } from './http/feature-writer.ts';
import { createDataPlaneServer } from './http/server.ts';
import { createDataPlaneMetrics } from './observability/data-plane-metrics.ts';
import { createDataPlaneOffline, type DataPlaneOfflineConfig } from './offline/data-plane-offline.ts';
import { createBusFeatureWriter } from './persistence/bus-feature-writer.ts';
import { createResultPublisher } from './persistence/result-publisher.ts';
import { createDataPlaneRuns } from './runs/data-plane-runs.ts';
import { pullTriggers, type TriggerPuller, triggerHandler } from './runs/run-trigger-consumer.ts';
import { createScheduledQueryRunner } from './scheduled-queries/scheduled-query-runner.ts';
import { createDataSourceRegistry, type DataSourceConfig } from './sources/data-sources.ts';
import { createStreamConsumers } from './streaming/stream-consumers.ts';
import { streamPublishRoutes } from './streaming/stream-publish-routes.ts';
import { createUsageMeter } from './usage/usage-meter.ts';

export interface DataPlaneConfig {
  /** This data plane's name; re-registering under the same name keeps its identity. */
  readonly name: string;
  /** The URL clients reach this data plane at (returned to them as `engines[env]`). */
  readonly publicUrl: string;
  readonly metadataPlaneUrl: string;
  /** The metadata plane's JWT issuer; defaults to `metadataPlaneUrl`. */
  readonly issuer?: string;
  readonly registrationToken: string;
  readonly objectStore: ObjectStore;
  readonly onlineStore: OnlineStore;
  /** Local working folder (bundle cache). */
  readonly stateDir: string;
  /** Resolver worker threads per deployment (default 2). */
  readonly workers?: number;
  readonly logger?: Logger;
  /** How often usage (queries, rows, resolver seconds per environment) is reported (default 60 s). */
  readonly usageReportIntervalMs?: number;
  /** Background persistence and offline queries (result bus + offline store); off when absent. */
  readonly offline?: DataPlaneOfflineConfig;
  /**
   * Named SQL data sources for SQL resolvers (`{ name, type, url, environment? }`; the URL may reference
   * the environment's secrets as `${secret:NAME}`).
   */
  readonly dataSources?: readonly DataSourceConfig[];
  /**
   * Where cron resolvers and scheduled queries are fired from. `metadata-plane` (the default): the metadata
   * plane's scheduler, whose triggers this data plane leases over HTTP for the environments it serves (its
   * own scheduler stays off, so nothing fires twice). `local`: this data plane's own scheduler fires cron
   * resolvers (scheduled queries then do not run).
   */
  readonly triggers?: 'metadata-plane' | 'local';
  /** Fire `cron` resolvers from this data plane's own scheduler (default: only with `triggers: 'local'`). */
  readonly schedule?: boolean;
}

export interface DataPlane {
  readonly app: FastifyInstance;
  /** Registers with the metadata plane, starts reconciling and listens; resolves once listening. */
  start(listen: { port: number; host?: string }): Promise<void>;
  /** Resolves once the first desired state has been applied. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates a data plane: a query server whose deployments follow the metadata plane's desired state.
 *
 * @example
 * const dataPlane = createDataPlane({ name: 'local', publicUrl: 'http://127.0.0.1:4001', metadataPlaneUrl: 'http://127.0.0.1:4000', registrationToken, objectStore, onlineStore, stateDir: '.slate/data-plane' });
 * await dataPlane.start({ port: 4001 });
 */
export function createDataPlane(config: DataPlaneConfig): DataPlane {
  const logger = config.logger ?? pino({ name: 'data-plane' });
  const served = new ServedEnvironments();
  let reconciler: Reconciler | undefined;
  let isReady = false;
  const verifier = createTokenVerifier({
    jwksUrl: `${config.metadataPlaneUrl.replace(/\/$/, '')}/.well-known/jwks.json`,
    issuer: config.issuer ?? config.metadataPlaneUrl,
  });
  const metrics = createDataPlaneMetrics();
  // SQL resolvers' data sources, with the secrets each environment's deployment was loaded with.
  const dataSources = createDataSourceRegistry(config.dataSources ?? []);
  const environmentSecrets = new Map<string, Readonly<Record<string, string>>>();
  const sqlSources = (
    environment: { id: string; name: string },
    secrets?: Readonly<Record<string, string>>,
  ) => {
    if (secrets) environmentSecrets.set(environment.id, secrets);
    return dataSources.sourcesFor(environment, secrets ?? environmentSecrets.get(environment.id));
  };
  // Offline queries and runs report their progress to the metadata plane, for people to follow in the UI.
  const batchStatus = createBatchStatusReporter({ logger });
  // Triggered and scheduled runs publish to the result bus: only with background persistence.
  const runs =
    config.offline &&
    createDataPlaneRuns({
      served,
      bus: config.offline.bus,
      objectStore: config.objectStore,
      sqlSources: (environment) => sqlSources(environment),
      schedule: config.schedule ?? config.triggers === 'local',
      logger,
      onRun: (record) => batchStatus.run(record),
    });
  const usage = createUsageMeter({ logger, intervalMs: config.usageReportIntervalMs });
  // Streaming resolvers consume their topics on the same bus and publish to the result bus.
  const streams =
    config.offline &&
    createStreamConsumers({
      served,
      bus: config.offline.bus,
      stateStore: config.onlineStore,
      name: config.name,
      metrics,
      logger,
    });
  const app = createDataPlaneServer({
    served,
    verifier,
    logger,
    isReady: () => isReady,
    metrics,
    runs: runs ? runs.service : undefined,
    // With background persistence, uploads travel the result bus like computed values (online and offline);
    // without it they go straight to the online store.
    featureWriter: config.offline
      ? createBusFeatureWriter(config.offline.bus)
      : createOnlineStoreFeatureWriter(config.onlineStore),
  });
  // Background persistence and offline queries: publishing from loaded engines, the worker, the routes.
  const offline =
    config.offline &&
    createDataPlaneOffline(config.offline, {
      served,
      onlineStore: config.onlineStore,
      objectStore: config.objectStore,
      logger,
      onRevision: (record) => batchStatus.revision(record),
      sqlSources: (environment) => sqlSources(environment),
      metrics,
    });
  if (offline) void app.register(offline.routes);
  // Scheduled queries (fired by the metadata plane) run as offline queries and store their results.
  const scheduledQueries =
    config.offline &&
    offline &&
    createScheduledQueryRunner({
      served,
      offlineStore: config.offline.offlineStore,
      offlineQueries: offline.service,
      publisher: createResultPublisher(config.offline.bus, { logger }),
      objectStore: config.objectStore,
      logger,
    });
  let triggerPuller: TriggerPuller | undefined;
  if (config.offline) void app.register(streamPublishRoutes, { served, bus: config.offline.bus });

  return {
    app,
    async start(listen) {
      const control = await registerDataPlane({
        metadataPlaneUrl: config.metadataPlaneUrl,
        registrationToken: config.registrationToken,
        name: config.name,
        publicUrl: config.publicUrl,
        keyDir: join(config.stateDir, 'keys'),
      });
      const loadDeployment = createDeploymentLoader({
        objectStore: config.objectStore,
        onlineStore: config.onlineStore,
        bundleDir: join(config.stateDir, 'bundles'),
        workers: config.workers,
        instrumentRuntime: (runtime, environmentId) =>
          usage.instrumentRuntime(metrics.instrumentRuntime(runtime), environmentId),
        sqlSources,
      });
      const metered = usage.wrapLoader(loadDeployment);
      const load = offline ? offline.wrapLoader(metered) : metered;
      offline?.start();
      runs?.start();
      streams?.start();
      usage.start((report) => control.reportUsage?.(report) ?? Promise.resolve());
      batchStatus.bind({
        status: (report) => control.reportBatchStatus?.(report) ?? Promise.resolve(),
        report: (report) => control.reportBatchReport?.(report) ?? Promise.resolve(),
      });
      reconciler = startReconciler({
        control,
        load,
        served,
        logger,
        key: control.key,
        provision: createEnvironmentProvisioner({ objectStore: config.objectStore }),
      });
      void reconciler.ready.then(() => {
        isReady = true;
        // Scheduled triggers are pulled once the served deployments are loaded (earlier ones would be refused).
        if (
          runs &&
          config.triggers !== 'local' &&
          control.leaseTriggers &&
          control.ackTriggers &&
          !triggerPuller
        )
          triggerPuller = pullTriggers(
            { leaseTriggers: control.leaseTriggers, ackTriggers: control.ackTriggers },
            triggerHandler(runs.service, async (body) =>
              scheduledQueries ? (await scheduledQueries.trigger(body)).revisionId : null,
            ),
            { logger },
          );
        // Offline queries a stopped data plane left unfinished resume once their deployments are loaded.
        void offline?.service
          .recover()
          .catch((err: unknown) => logger.warn({ err }, 'offline query recovery failed'));
      });
      await app.listen({ port: listen.port, host: listen.host ?? '127.0.0.1' });
      logger.info({ url: config.publicUrl, data_plane_id: control.id }, 'data plane listening');
    },
    async ready() {
      if (!reconciler) throw new Error('the data plane has not been started');
      await reconciler.ready;
    },
    async close() {
      await reconciler?.stop();
      await triggerPuller?.stop();
      await runs?.close();
      await scheduledQueries?.idle();
      await streams?.stop();
      await app.close();
      await offline?.close();
      await usage.stop();
      await batchStatus.flush();
      await served.close();
      await dataSources.close();
    },
  };
}
