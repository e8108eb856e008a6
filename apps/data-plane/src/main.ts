import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  assertMetricsPort,
  createMetricsServer,
  createProcessMetrics,
  createRedactingLogger,
  DEFAULT_METRICS_PORT,
  stackTraceModeFromEnv,
} from '@slate/http-edge';
import {
  busConfigFromEnv,
  createBus,
  createObjectStore,
  createOnlineStore,
  createParquetOfflineStore,
  objectStoreConfigFromEnv,
  offlineStoreTuningFromEnv,
  onlineStoreConfigFromEnv,
} from '@slate/stores';
import { z } from 'zod';
import { createDataPlane } from './data-plane.ts';
import { createTracing } from './observability/tracing/tracing.ts';
import { tracingConfigFromEnv } from './observability/tracing/tracing-config.ts';
import { checkQueryProcesses, MAX_QUERY_PROCESSES, superviseQueryProcesses } from './query-processes.ts';
import { parseRoles } from './roles.ts';
import type { DataSourceConfig } from './sources/data-sources.ts';

/**
 * Standalone data plane, configured from the environment:
 * - `SLATE_METADATA_PLANE_URL` (where to register and long-poll), `SLATE_REGISTRATION_TOKEN`;
 * - `SLATE_METADATA_PLANE_ISSUER`: the issuer tokens carry, the metadata plane's public URL (default
 *   `SLATE_METADATA_PLANE_URL`; differs when this data plane reaches it by an in-cluster address);
 * - `SLATE_PUBLIC_URL`: the URL clients reach this data plane at (default `http://<hostname>:<PORT>`);
 * - `SLATE_DATA_PLANE_NAME` (default the hostname): the data plane, a group of instances that share it;
 * - `SLATE_INSTANCE_ID` (default `<hostname>-<pid>`; a pod's name in Kubernetes): this instance, which
 *   registers and heartbeats as itself, and is its consumer name on the bus;
 * - `SLATE_DATA_PLANE_KEY_FILE`: the group's X25519 private key (JWK) every replica shares, from a secret;
 *   without it a key is created under the state dir (one instance only: see docs/adr/0009-data-plane-replicas.md);
 * - online store: `REDIS_URL`, else LMDB in `SLATE_ONLINE_STORE_PATH` (+ `SLATE_ONLINE_STORE_DURABILITY`),
 *   else in-process; buckets: `SLATE_S3_BUCKET_PREFIX` … (else
 *   `SLATE_OBJECTS_DIR`), as for the metadata plane;
 * - result bus: `KAFKA_BROKERS` (+ `KAFKA_SASL_*`, `KAFKA_PARTITIONS` of the topics it creates, default 1, the
 *   most replicas of a role sharing a topic; `KAFKA_SESSION_TIMEOUT_MS`), else `SLATE_BUS_REDIS_URL`/`REDIS_URL` (Redis Streams), else
 *   the embedded log under the state dir; the offline store is Parquet in the `data` bucket;
 * - `SLATE_ROLE`: `all` (default) or a comma list of `query` (the query server), `persistence` (the result
 *   bus's consumer group → online and offline stores), `streaming` (stream consumers), `jobs` (leased
 *   scheduled triggers, take-over of offline queries); each process starts only its roles;
 * - `SLATE_QUERY_PROCESSES` (default 1): query servers behind one port (`node:cluster`), to use every core
 *   of a pod with one process per core; needs `SLATE_ROLE=query` and `SLATE_DATA_PLANE_KEY_FILE`; each is an
 *   instance `<SLATE_INSTANCE_ID>-p<n>` with metrics on `SLATE_METRICS_PORT + n` (see query-processes.ts);
 * - `SLATE_OFFLINE_MEMORY_LIMIT` (default 512MB) and `SLATE_OFFLINE_THREADS` (default 1): the offline store's
 *   DuckDB memory limit (it spills past it under the state dir) and threads (ADR 0007);
 * - `SLATE_STATE_DIR` (bundle cache, default `.slate/data-plane`), `SLATE_WORKERS` (resolver threads per
 *   deployment, default 2, at most the machine's cores), `SLATE_USAGE_REPORT_INTERVAL_MS` (default 60 000), `SLATE_METRIC_REPORT_INTERVAL_MS` (default 30 000), `PORT` (default 4001), `HOST` (default 0.0.0.0), `LOG_LEVEL`;
 * - `SLATE_METRICS_PORT` (default 9464): `GET /metrics` for Prometheus, without auth, on `HOST`; keep the port
 *   internal. It must differ from `PORT` (the process refuses to start otherwise: the API needs a token there);
 * - `SLATE_RUN_HEARTBEAT_MS` (default 10 000) and `SLATE_RUN_STALE_AFTER_MS` (default 60 000): how often a
 *   resolver run heart-beats its lease and checkpoint, and after how long without one another replica
 *   takes it over; `SLATE_RUN_CHUNK_SIZE`: entities per page read and per published batch (default 5 000);
 * - `SLATE_DATA_SOURCES`: SQL resolvers' named data sources as a JSON array (URLs may use `${secret:NAME}`);
 * - `SLATE_VERSION`: the version reported with the instance's health (default npm's package version);
 * - `SLATE_DATASET_URL_KEY`: signs offline-query result download links; set the same value on every replica
 *   (default a random key per process);
 * - `SLATE_GRPC_PORT`: the gRPC query API's port (`chalk.engine.v1.QueryService`, default 4002; `off` disables
 *   it), on `HOST` like the HTTP API;
 * - `SLATE_TRIGGERS`: `metadata-plane` (default: lease the metadata plane scheduler's cron-resolver and
 *   scheduled-query triggers over HTTP) or `local` (this data plane fires cron resolvers itself);
 * - tracing, with the OpenTelemetry SDK's own variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns OTLP/HTTP export on, `OTEL_EXPORTER_OTLP_PROTOCOL`
 *   (`http/protobuf`, default, or `http/json`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER` (default
 *   `parentbased_traceidratio`) and `OTEL_TRACES_SAMPLER_ARG` (default 0.01), `OTEL_SERVICE_NAME`,
 *   `OTEL_RESOURCE_ATTRIBUTES` (see observability/tracing/tracing-config.ts).
 */
const EnvSchema = z.object({
  SLATE_ROLE: z
    .string()
    .default('all')
    .transform((text, ctx) => {
      try {
        return parseRoles(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  SLATE_METADATA_PLANE_URL: z.url(),
  SLATE_METADATA_PLANE_ISSUER: z.url().optional(),
  SLATE_REGISTRATION_TOKEN: z.string().min(16),
  SLATE_PUBLIC_URL: z.url().optional(),
  SLATE_DATA_PLANE_NAME: z.string().min(1).default(hostname()),
  SLATE_INSTANCE_ID: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
      'letters, digits, . _ -, at most 128 characters (it is also a bus consumer name)',
    )
    .default(`${hostname()}-${process.pid}`),
  SLATE_DATA_PLANE_KEY_FILE: z.string().min(1).optional(),
  SLATE_STATE_DIR: z.string().min(1).default('.slate/data-plane'),
  SLATE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  SLATE_QUERY_PROCESSES: z.coerce.number().int().min(1).max(MAX_QUERY_PROCESSES).default(1),
  SLATE_USAGE_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  SLATE_METRIC_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  PORT: z.coerce.number().int().min(0).max(65535).default(4001),
  SLATE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** SQL resolvers' data sources as JSON: `[{"name":"app_db","type":"postgres","url":"postgres://…${secret:PW}…"}]`. */
  SLATE_DATASET_URL_KEY: z.string().min(32, 'use at least 32 characters').optional(),
  SLATE_TRIGGERS: z.enum(['metadata-plane', 'local']).default('metadata-plane'),
  SLATE_RUN_HEARTBEAT_MS: z.coerce.number().int().min(100).default(10_000),
  SLATE_RUN_STALE_AFTER_MS: z.coerce.number().int().min(200).default(60_000),
  SLATE_RUN_CHUNK_SIZE: z.coerce.number().int().min(1).max(100_000).default(5_000),
  SLATE_GRPC_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).default(4002),
  SLATE_DATA_SOURCES: z
    .string()
    .optional()
    .transform((text) => (text ? (JSON.parse(text) as DataSourceConfig[]) : [])),
});

async function main(): Promise<void> {
  const env = EnvSchema.parse(process.env);
  assertMetricsPort(env.SLATE_METRICS_PORT, env.PORT);
  const logger = createRedactingLogger({ name: 'data-plane', level: env.LOG_LEVEL });
  const processes = {
    processes: env.SLATE_QUERY_PROCESSES,
    roles: env.SLATE_ROLE,
    instanceId: env.SLATE_INSTANCE_ID,
    stateDir: env.SLATE_STATE_DIR,
    metricsPort: env.SLATE_METRICS_PORT,
    keyFile: env.SLATE_DATA_PLANE_KEY_FILE,
  };
  checkQueryProcesses(processes);
  // The primary of several query processes only supervises them (query-processes.ts).
  if (superviseQueryProcesses(processes, (message, fields) => logger.info(fields ?? {}, message))) return;
  const processMetrics = createProcessMetrics();
  // OTLP tracing from the OpenTelemetry SDK's standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, ...).
  const tracingConfig = tracingConfigFromEnv(process.env);
  const version = process.env.SLATE_VERSION ?? process.env.npm_package_version;
  const tracing =
    tracingConfig &&
    createTracing(tracingConfig, { instanceId: env.SLATE_INSTANCE_ID ?? hostname(), version });
  if (tracingConfig)
    logger.info(
      {
        endpoint: tracingConfig.endpoint,
        protocol: tracingConfig.protocol,
        sampler: tracingConfig.sampler,
        ratio: tracingConfig.ratio,
      },
      'exporting traces over OTLP',
    );
  const objectStore = createObjectStore(objectStoreConfigFromEnv(process.env, '.slate/objects'));
  const onlineStore = createOnlineStore(onlineStoreConfigFromEnv(process.env));
  const bus = createBus(busConfigFromEnv(process.env, join(env.SLATE_STATE_DIR, 'bus')));
  const offlineStore = createParquetOfflineStore({
    objectStore,
    stagingDir: join(env.SLATE_STATE_DIR, 'offline-staging'),
    ...offlineStoreTuningFromEnv(process.env),
  });
  for (const store of [objectStore, onlineStore, bus, offlineStore]) await store.init();
  const closeStores = async () => {
    for (const store of [offlineStore, bus, onlineStore, objectStore]) await store.close();
  };

  const dataPlane = createDataPlane({
    // Off under NODE_ENV=production unless SLATE_STACK_TRACES says otherwise.
    stackTraces: stackTraceModeFromEnv(process.env),
    name: env.SLATE_DATA_PLANE_NAME,
    instanceId: env.SLATE_INSTANCE_ID,
    roles: env.SLATE_ROLE,
    version,
    keyFile: env.SLATE_DATA_PLANE_KEY_FILE,
    publicUrl: env.SLATE_PUBLIC_URL ?? `http://${hostname()}:${env.PORT}`,
    metadataPlaneUrl: env.SLATE_METADATA_PLANE_URL,
    issuer: env.SLATE_METADATA_PLANE_ISSUER?.replace(/\/+$/, ''),
    registrationToken: env.SLATE_REGISTRATION_TOKEN,
    objectStore,
    onlineStore,
    stateDir: env.SLATE_STATE_DIR,
    workers: env.SLATE_WORKERS,
    usageReportIntervalMs: env.SLATE_USAGE_REPORT_INTERVAL_MS,
    metricReportIntervalMs: env.SLATE_METRIC_REPORT_INTERVAL_MS,
    logger,
    offline: {
      bus,
      offlineStore,
      runWorker: env.SLATE_ROLE.has('persistence'),
      urlSigningKey: env.SLATE_DATASET_URL_KEY,
    },
    dataSources: env.SLATE_DATA_SOURCES,
    triggers: env.SLATE_TRIGGERS,
    runs: {
      heartbeatMs: env.SLATE_RUN_HEARTBEAT_MS,
      staleAfterMs: env.SLATE_RUN_STALE_AFTER_MS,
      chunkSize: env.SLATE_RUN_CHUNK_SIZE,
    },
    grpc: env.SLATE_GRPC_PORT === 'off' ? undefined : { port: env.SLATE_GRPC_PORT, host: env.HOST },
    tracing,
  });
  await dataPlane.start({ port: env.PORT, host: env.HOST });
  const metricsServer = await listenForMetrics(env, [processMetrics, dataPlane.metrics.registry]);
  onSignal(logger, async () => {
    await metricsServer.close();
    await dataPlane.close();
    // Spans that cannot be exported (the collector is gone) must not fail the shutdown.
    await tracing
      ?.shutdown()
      .catch((err: unknown) => logger.warn({ err }, 'the last spans could not be exported'));
    await closeStores();
  });
}

/** The internal `/metrics` listener on `SLATE_METRICS_PORT` (no auth; see `createMetricsServer`). */
async function listenForMetrics(
  env: z.output<typeof EnvSchema>,
  registries: Parameters<typeof createMetricsServer>[0],
): Promise<ReturnType<typeof createMetricsServer>> {
  const server = createMetricsServer(registries);
  await server.listen({ port: env.SLATE_METRICS_PORT, host: env.HOST });
  return server;
}

function onSignal(logger: { info(o: object, m: string): void }, stop: () => Promise<void>): void {
  const handle = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => handle('SIGINT'));
  process.once('SIGTERM', () => handle('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
