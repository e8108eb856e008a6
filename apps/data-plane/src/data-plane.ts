import { join } from 'node:path';
import { createRedactingLogger, type StackTraceMode } from '@slate/http-edge';
import type { ObjectStore, OnlineStore } from '@slate/stores';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier.ts';
import { createBatchStatusReporter } from './control-plane/batch-status-reporter.ts';
import { registerDataPlane } from './control-plane/control-plane-client.ts';
import { createDeploymentLoader } from './deployments/deployment-loader.ts';
import { createEnvironmentProvisioner } from './deployments/environment-provisioner.ts';
import { type Reconciler, startReconciler } from './deployments/reconciler.ts';
import { ServedEnvironments } from './deployments/served-environments.ts';
import { createQueryGateway } from './gateway/query-gateway.ts';
import { createGrpcServer, type GrpcServer } from './grpc/grpc-server.ts';
import { createConcurrencyLimiter } from './http/concurrency-limit.ts';
import { createOnlineStoreFeatureWriter } from './http/feature-writer.ts';
import { createDataPlaneServer } from './http/server.ts';
import { createDataPlaneMetrics, type DataPlaneMetrics } from './observability/data-plane-metrics.ts';
import { createMetricRollups, type MetricRollups } from './observability/metric-rollups.ts';
import { tracedGateway } from './observability/tracing/traced-gateway.ts';
import { tracedRuntime } from './observability/tracing/traced-runtime.ts';
import { tracedOfflineStore, tracedOnlineStore } from './observability/tracing/traced-stores.ts';
import type { Tracing } from './observability/tracing/tracing.ts';
import { createDataPlaneOffline, type DataPlaneOfflineConfig } from './offline/data-plane-offline.ts';
import { createBusFeatureWriter } from './persistence/bus-feature-writer.ts';
import { createResultPublisher } from './persistence/result-publisher.ts';
import { DATA_PLANE_ROLES, type DataPlaneRole } from './roles.ts';
import { createDataPlaneRuns } from './runs/data-plane-runs.ts';
import type { RunRecord } from './runs/run-record.ts';
import { pullTriggers, type TriggerPuller, triggerHandler } from './runs/run-trigger-consumer.ts';
import { createScheduledQueryRunner } from './scheduled-queries/scheduled-query-runner.ts';
import { createDataSourceRegistry, type DataSourceConfig } from './sources/data-sources.ts';
import { createStreamConsumers } from './streaming/stream-consumers.ts';
import { streamPublishRoutes } from './streaming/stream-publish-routes.ts';
import { createUsageMeter } from './usage/usage-meter.ts';

export interface DataPlaneConfig {
  /** This data plane's name: the group its replicas (instances) share; re-registering keeps its identity. */
  readonly name: string;
  /**
   * This replica's id within the data plane (a pod's name; default the metadata plane's `default`). It is
   * also this process's consumer name on the bus, so a restart under the same id resumes its deliveries.
   */
  readonly instanceId?: string;
  /** The roles this process runs (default every role): see `DATA_PLANE_ROLES`. */
  readonly roles?: ReadonlySet<DataPlaneRole>;
  /** The software version, reported with the instance's health. */
  readonly version?: string;
  /**
   * The group key file every replica shares (an X25519 private JWK); without it, a key is created in
   * `stateDir/keys` (fine for one instance, not for replicas).
   */
  readonly keyFile?: string;
  /** The URL clients reach this data plane at (returned to them as `engines[env]`). */
  readonly publicUrl: string;
  readonly metadataPlaneUrl: string;
  /** How resolver errors' stack traces appear in query answers (default `user`: the feature repository's frames). */
  readonly stackTraces?: StackTraceMode;
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
  /** How often finished minutes of metric rollups are sent to the metadata plane (default 30 s). */
  readonly metricReportIntervalMs?: number;
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
  /**
   * Resolver runs: how often a run heart-beats its lease and checkpoint (default 10 s), and after how long
   * without one another replica takes it over (default 60 s); `jobs` replicas look for such runs every
   * half of that (at most 15 s).
   */
  readonly runs?: {
    readonly heartbeatMs?: number;
    readonly staleAfterMs?: number;
    /** Entities per page read and per published batch (default 5,000). */
    readonly chunkSize?: number;
  };
  /** How often an instance that loads no deployment (persistence only) heartbeats (default 20 s). */
  readonly heartbeatIntervalMs?: number;
  /**
   * The gRPC query API (`chalk.engine.v1.QueryService`) on its own port, beside the HTTP API and sharing its
   * auth, per-environment concurrency cap and engines; off when absent.
   */
  readonly grpc?: { readonly port: number; readonly host?: string };
  /**
   * OpenTelemetry tracing (`createTracing`, configured by `tracingConfigFromEnv`): queries over HTTP and gRPC
   * continue the client's `traceparent` with spans for the query, its plan, each resolver call (and its time
   * in the worker thread) and the stores; the context goes out on the result bus to the persistence worker.
   * Off when absent. It belongs to the caller, who shuts it down after `close`.
   */
  readonly tracing?: Tracing;
}

export interface DataPlane {
  readonly app: FastifyInstance;
  /** The query server's metrics (also served, without auth, by the metrics listener `main` starts). */
  readonly metrics: DataPlaneMetrics;
  /** Per-minute metric rollups reported to the metadata plane. */
  readonly rollups: MetricRollups;
  /**
   * Registers with the metadata plane, starts reconciling and starts its roles; with the `query` role,
   * listens (resolves once listening).
   */
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
  const logger = config.logger ?? createRedactingLogger({ name: 'data-plane' });
  const tracing = config.tracing;
  // Store calls are spans only under a recorded (sampled) span: wrapping costs an unsampled call one lookup.
  const onlineStore = tracing ? tracedOnlineStore(config.onlineStore, tracing.tracer) : config.onlineStore;
  const offlineStore =
    config.offline &&
    (tracing ? tracedOfflineStore(config.offline.offlineStore, tracing.tracer) : config.offline.offlineStore);
  const roles = config.roles ?? new Set(DATA_PLANE_ROLES);
  const has = (role: DataPlaneRole) => roles.has(role);
  // Persistence alone needs no deployment: it only moves the result bus into the stores.
  const loadsDeployments = has('query') || has('streaming') || has('jobs');
  const consumerName = config.instanceId ?? config.name;
  const served = new ServedEnvironments();
  // Jobs are claimed among the replicas through the metadata plane's leases (PostgreSQL); before
  // registration, or against a metadata plane without leases, this process is the only claimant.
  let claimJob = async (_key: string, _ttlSeconds: number) => true;
  let heartbeat: NodeJS.Timeout | undefined;
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
      schedule: has('jobs') && (config.schedule ?? config.triggers === 'local'),
      claimFire: (key, ttlSeconds) => claimJob(key, ttlSeconds),
      // A run's replica heart-beats its lease; when it stops, a `jobs` replica takes the run over.
      claimRun: (key, ttlSeconds) => claimJob(key, ttlSeconds),
      instance: consumerName,
      recover: has('jobs'),
      heartbeatMs: config.runs?.heartbeatMs,
      staleAfterMs: config.runs?.staleAfterMs,
      chunkSize: config.runs?.chunkSize,
      recoverIntervalMs: Math.min(15_000, (config.runs?.staleAfterMs ?? 60_000) / 2),
      logger,
      onRun: (record) => {
        batchStatus.run(record);
        observeRunOutcome(record);
      },
    });
  const usage = createUsageMeter({ logger, intervalMs: config.usageReportIntervalMs });
  // Per-minute rollups reported to the metadata plane (issue 17): queries, resolvers, features, streams, runs.
  const rollups = createMetricRollups({ logger, intervalMs: config.metricReportIntervalMs });
  // A run counts once, when it is first seen finished (a record is saved several times); the set is bounded.
  const finishedRuns = new Set<string>();
  const observeRunOutcome = (record: RunRecord) => {
    if (record.status === 'received' || record.status === 'running' || finishedRuns.has(record.id)) return;
    finishedRuns.add(record.id);
    if (finishedRuns.size > 10_000) finishedRuns.delete(finishedRuns.values().next().value as string);
    const seconds =
      record.started_at && record.finished_at
        ? (Date.parse(record.finished_at) - Date.parse(record.started_at)) / 1000
        : null;
    const ok = record.status === 'succeeded';
    rollups.observeOutcome(record.environment, 'run', record.resolver_fqn, ok, seconds);
    if (record.trigger === 'CRON')
      rollups.observeOutcome(record.environment, 'schedule', record.resolver_fqn, ok, seconds);
  };
  const streamMetrics: typeof metrics = {
    ...metrics,
    observeStream(resolver, counts, lagSeconds, environment) {
      metrics.observeStream(resolver, counts, lagSeconds);
      if (environment === undefined) return;
      let messages = 0;
      for (const n of Object.values(counts)) messages += n ?? 0;
      rollups.observeStream(environment, resolver, messages, counts.dead_letter ?? 0, lagSeconds);
    },
  };
  // Streaming resolvers consume their topics on the same bus and publish to the result bus.
  const streams =
    config.offline && has('streaming')
      ? createStreamConsumers({
          served,
          bus: config.offline.bus,
          stateStore: onlineStore,
          name: consumerName,
          // A bus that hands any message to any consumer of a group (Redis Streams) does not keep an entity
          // on one replica; Kafka's partitions do. There, a windowed stream is leased to one replica.
          claimWindowed:
            config.offline.bus.capabilities.shared && config.offline.bus.capabilities.redeliversIdle
              ? (key, ttlSeconds) => claimJob(key, ttlSeconds)
              : undefined,
          metrics: streamMetrics,
          logger,
        })
      : undefined;
  // With background persistence, uploads travel the result bus like computed values (online and offline),
  // and are written to the online store before answering too, so they are readable at once; without it they
  // go straight to the online store.
  const featureWriter = config.offline
    ? createBusFeatureWriter(config.offline.bus, {
        onlineStore,
        offlineStore: config.offline.offlineStore,
        onOnlineWriteError: (error) =>
          logger.warn(
            { err: error },
            'an upload is on the result bus but not yet online: persistence will write it',
          ),
      })
    : createOnlineStoreFeatureWriter(onlineStore);
  // HTTP and gRPC share one gateway: one auth path and one in-flight cap per environment over both.
  const untracedGateway = createQueryGateway({
    served,
    verifier,
    limiter: createConcurrencyLimiter({ maxInFlight: 512 }),
    featureWriter,
  });
  const gateway = tracing ? tracedGateway(untracedGateway, tracing) : untracedGateway;
  const app = createDataPlaneServer({
    served,
    verifier,
    logger,
    isReady: () => isReady,
    metrics,
    stackTraces: config.stackTraces ?? 'user',
    runs: runs ? runs.service : undefined,
    featureWriter,
    gateway,
    metadataPlaneUrl: config.metadataPlaneUrl,
  });
  const grpc: GrpcServer | undefined = config.grpc
    ? createGrpcServer({
        gateway,
        logger: logger.child({ api: 'grpc' }),
        metrics,
        metadataPlaneUrl: config.metadataPlaneUrl,
      })
    : undefined;
  // Background persistence and offline queries: publishing from loaded engines, the worker, the routes.
  const offline =
    config.offline &&
    createDataPlaneOffline(
      {
        ...config.offline,
        offlineStore: offlineStore ?? config.offline.offlineStore,
        runWorker: (config.offline.runWorker ?? true) && has('persistence'),
      },
      {
        served,
        workerName: consumerName,
        recover: has('jobs'),
        claim: (key, ttlSeconds) => claimJob(key, ttlSeconds),
        onlineStore,
        objectStore: config.objectStore,
        logger,
        onRevision: (record) => batchStatus.revision(record),
        sqlSources: (environment) => sqlSources(environment),
        metrics,
        apiHostUrl: config.issuer ?? config.metadataPlaneUrl,
        tracing,
      },
    );
  if (offline) void app.register(offline.routes);
  // Scheduled queries (fired by the metadata plane) run as offline queries and store their results.
  const scheduledQueries =
    config.offline &&
    offline &&
    createScheduledQueryRunner({
      served,
      offlineStore: offlineStore ?? config.offline.offlineStore,
      offlineQueries: offline.service,
      publisher: createResultPublisher(config.offline.bus, { logger, headers: tracing?.inject }),
      objectStore: config.objectStore,
      // The replica finishing a scheduled query holds its lease; a `jobs` replica finishes it when it stops.
      claim: (key, ttlSeconds) => claimJob(key, ttlSeconds),
      logger,
    });
  let scheduledLookout: NodeJS.Timeout | undefined;
  let triggerPuller: TriggerPuller | undefined;
  if (config.offline) void app.register(streamPublishRoutes, { served, bus: config.offline.bus });

  return {
    app,
    metrics,
    rollups,
    async start(listen) {
      const control = await registerDataPlane({
        metadataPlaneUrl: config.metadataPlaneUrl,
        registrationToken: config.registrationToken,
        name: config.name,
        publicUrl: config.publicUrl,
        instanceId: config.instanceId,
        roles: [...roles],
        version: config.version,
        keyFile: config.keyFile,
        keyDir: join(config.stateDir, 'keys'),
      });
      const claimLease = control.claimLease;
      if (claimLease) claimJob = async (key, ttlSeconds) => (await claimLease(key, ttlSeconds)).granted;
      const loadDeployment = createDeploymentLoader({
        objectStore: config.objectStore,
        onlineStore,
        bundleDir: join(config.stateDir, 'bundles'),
        workers: config.workers,
        instrumentRuntime: (runtime, environmentId) => {
          const instrumented = rollups.instrumentRuntime(
            usage.instrumentRuntime(metrics.instrumentRuntime(runtime), environmentId),
            environmentId,
          );
          return tracing ? tracedRuntime(instrumented, tracing.tracer) : instrumented;
        },
        sqlSources,
        tracer: tracing?.tracer,
      });
      const metered = rollups.wrapLoader(usage.wrapLoader(loadDeployment));
      const load = offline ? offline.wrapLoader(metered) : metered;
      offline?.start();
      runs?.start();
      streams?.start();
      usage.start((report) => control.reportUsage?.(report) ?? Promise.resolve());
      rollups.start(
        (report) => control.reportMetrics?.(report) ?? Promise.resolve(undefined),
        control.instanceId,
      );
      batchStatus.bind({
        status: (report) => control.reportBatchStatus?.(report) ?? Promise.resolve(),
        report: (report) => control.reportBatchReport?.(report) ?? Promise.resolve(),
      });
      if (!loadsDeployments) {
        // Nothing to reconcile: heartbeat so that the instance shows healthy, and count as ready.
        const beat = () =>
          void control
            .heartbeat?.()
            .catch((err: unknown) => logger.warn({ err }, 'heartbeat to the metadata plane failed'));
        beat();
        heartbeat = setInterval(beat, config.heartbeatIntervalMs ?? 20_000);
        heartbeat.unref();
        isReady = true;
        logger.info(
          { data_plane_id: control.id, instance: control.instanceId, roles: [...roles] },
          'data plane instance running',
        );
        return;
      }
      reconciler = startReconciler({
        control,
        load,
        served,
        logger,
        key: control.key,
        provision: createEnvironmentProvisioner({ objectStore: config.objectStore }),
        revocations: (revoked) => verifier.setRevocations(revoked),
      });
      void reconciler.ready.then(() => {
        isReady = true;
        // Scheduled triggers are pulled once the served deployments are loaded (earlier ones would be refused).
        if (
          runs &&
          has('jobs') &&
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
        // Scheduled queries a stopped replica left unfinished are finished here (under their lease).
        if (has('jobs') && scheduledQueries && !scheduledLookout) {
          const recoverScheduled = () =>
            void scheduledQueries
              .recover()
              .catch((err: unknown) => logger.warn({ err }, 'scheduled query recovery failed'));
          recoverScheduled();
          scheduledLookout = setInterval(recoverScheduled, 30_000);
          scheduledLookout.unref();
        }
        // Offline queries a stopped data plane left unfinished resume once their deployments are loaded.
        if (has('jobs'))
          void offline?.service
            .recover()
            .catch((err: unknown) => logger.warn({ err }, 'offline query recovery failed'));
      });
      const instance = { data_plane_id: control.id, instance: control.instanceId, roles: [...roles] };
      if (!has('query')) {
        logger.info(instance, 'data plane instance running (no query server in its roles)');
        return;
      }
      await app.listen({ port: listen.port, host: listen.host ?? '127.0.0.1' });
      logger.info({ url: config.publicUrl, ...instance }, 'data plane listening');
      if (grpc && config.grpc) {
        const port = await grpc.listen({ port: config.grpc.port, host: config.grpc.host ?? listen.host });
        logger.info({ port }, 'gRPC query API listening');
      }
    },
    async ready() {
      if (!reconciler) {
        if (isReady) return;
        throw new Error('the data plane has not been started');
      }
      await reconciler.ready;
    },
    async close() {
      clearInterval(heartbeat);
      await reconciler?.stop();
      await triggerPuller?.stop();
      await runs?.close();
      clearInterval(scheduledLookout);
      await scheduledQueries?.idle();
      await streams?.stop();
      await grpc?.close();
      await app.close();
      await offline?.close();
      await usage.stop();
      await rollups.stop();
      await batchStatus.flush();
      await served.close();
      await dataSources.close();
    },
  };
}
