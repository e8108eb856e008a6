import { hostname } from 'node:os';
import { join } from 'node:path';
import { createRedactingLogger, stackTraceModeFromEnv } from '@slate/http-edge';
import {
  busConfigFromEnv,
  createBus,
  createObjectStore,
  createOnlineStore,
  createParquetOfflineStore,
  objectStoreConfigFromEnv,
  onlineStoreConfigFromEnv,
} from '@slate/stores';
import { z } from 'zod';
import { createDataPlane } from './data-plane.ts';
import { createPersistenceWorker } from './persistence/persistence-worker.ts';
import { createPersistenceWriters } from './persistence/persistence-writers.ts';
import type { DataSourceConfig } from './sources/data-sources.ts';

/**
 * Standalone data plane, configured from the environment:
 * - `SLATE_METADATA_PLANE_URL` (where to register and long-poll), `SLATE_REGISTRATION_TOKEN`;
 * - `SLATE_METADATA_PLANE_ISSUER`: the issuer tokens carry, the metadata plane's public URL (default
 *   `SLATE_METADATA_PLANE_URL`; differs when this data plane reaches it by an in-cluster address);
 * - `SLATE_PUBLIC_URL`: the URL clients reach this data plane at (default `http://<hostname>:<PORT>`);
 * - `SLATE_DATA_PLANE_NAME` (default the hostname; replicas of one data plane share it);
 * - online store: `REDIS_URL` (else in-process); buckets: `SLATE_S3_BUCKET_PREFIX` … (else
 *   `SLATE_OBJECTS_DIR`), as for the metadata plane;
 * - result bus: `KAFKA_BROKERS` (+ `KAFKA_SASL_*`), else `SLATE_BUS_REDIS_URL`/`REDIS_URL` (Redis Streams), else
 *   the embedded log under the state dir; the offline store is Parquet in the `data` bucket;
 * - `SLATE_ROLE`: `all` (default: queries and background persistence in this process), `query` (persistence
 *   runs elsewhere, on the same bus) or `persistence` (only the worker: bus → online and offline stores);
 * - `SLATE_STATE_DIR` (bundle cache, default `.slate/data-plane`), `SLATE_WORKERS` (resolver threads per
 *   deployment), `SLATE_USAGE_REPORT_INTERVAL_MS` (default 60 000), `PORT` (default 4001), `HOST` (default 0.0.0.0), `LOG_LEVEL`;
 * - `SLATE_DATA_SOURCES`: SQL resolvers' named data sources as a JSON array (URLs may use `${secret:NAME}`);
 * - `SLATE_DATASET_URL_KEY`: signs offline-query result download links; set the same value on every replica
 *   (default a random key per process);
 * - `SLATE_TRIGGERS`: `metadata-plane` (default: lease the metadata plane scheduler's cron-resolver and
 *   scheduled-query triggers over HTTP) or `local` (this data plane fires cron resolvers itself).
 */
const EnvSchema = z.object({
  SLATE_ROLE: z.enum(['all', 'query', 'persistence']).default('all'),
  SLATE_METADATA_PLANE_URL: z.url(),
  SLATE_METADATA_PLANE_ISSUER: z.url().optional(),
  SLATE_REGISTRATION_TOKEN: z.string().min(16),
  SLATE_PUBLIC_URL: z.url().optional(),
  SLATE_DATA_PLANE_NAME: z.string().min(1).default(hostname()),
  SLATE_STATE_DIR: z.string().min(1).default('.slate/data-plane'),
  SLATE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  SLATE_USAGE_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  PORT: z.coerce.number().int().min(0).max(65535).default(4001),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** SQL resolvers' data sources as JSON: `[{"name":"app_db","type":"postgres","url":"postgres://…${secret:PW}…"}]`. */
  SLATE_DATASET_URL_KEY: z.string().min(32, 'use at least 32 characters').optional(),
  SLATE_TRIGGERS: z.enum(['metadata-plane', 'local']).default('metadata-plane'),
  SLATE_DATA_SOURCES: z
    .string()
    .optional()
    .transform((text) => (text ? (JSON.parse(text) as DataSourceConfig[]) : [])),
});

async function main(): Promise<void> {
  const env = EnvSchema.parse(process.env);
  const logger = createRedactingLogger({ name: 'data-plane', level: env.LOG_LEVEL });
  const objectStore = createObjectStore(objectStoreConfigFromEnv(process.env, '.slate/objects'));
  const onlineStore = createOnlineStore(onlineStoreConfigFromEnv(process.env));
  const bus = createBus(busConfigFromEnv(process.env, join(env.SLATE_STATE_DIR, 'bus')));
  const offlineStore = createParquetOfflineStore({
    objectStore,
    stagingDir: join(env.SLATE_STATE_DIR, 'offline-staging'),
  });
  for (const store of [objectStore, onlineStore, bus, offlineStore]) await store.init();
  const closeStores = async () => {
    for (const store of [offlineStore, bus, onlineStore, objectStore]) await store.close();
  };

  if (env.SLATE_ROLE === 'persistence') {
    const worker = createPersistenceWorker({
      bus,
      name: env.SLATE_DATA_PLANE_NAME,
      logger,
      writers: createPersistenceWriters({ onlineStore, offlineStore }),
    });
    worker.start();
    logger.info({ role: 'persistence' }, 'background persistence running');
    onSignal(logger, async () => {
      await worker.stop();
      await closeStores();
    });
    return;
  }

  const dataPlane = createDataPlane({
    // Off under NODE_ENV=production unless SLATE_STACK_TRACES says otherwise.
    stackTraces: stackTraceModeFromEnv(process.env),
    name: env.SLATE_DATA_PLANE_NAME,
    publicUrl: env.SLATE_PUBLIC_URL ?? `http://${hostname()}:${env.PORT}`,
    metadataPlaneUrl: env.SLATE_METADATA_PLANE_URL,
    issuer: env.SLATE_METADATA_PLANE_ISSUER?.replace(/\/+$/, ''),
    registrationToken: env.SLATE_REGISTRATION_TOKEN,
    objectStore,
    onlineStore,
    stateDir: env.SLATE_STATE_DIR,
    workers: env.SLATE_WORKERS,
    usageReportIntervalMs: env.SLATE_USAGE_REPORT_INTERVAL_MS,
    logger,
    offline: {
      bus,
      offlineStore,
      runWorker: env.SLATE_ROLE === 'all',
      urlSigningKey: env.SLATE_DATASET_URL_KEY,
    },
    dataSources: env.SLATE_DATA_SOURCES,
    triggers: env.SLATE_TRIGGERS,
  });
  await dataPlane.start({ port: env.PORT, host: env.HOST });
  onSignal(logger, async () => {
    await dataPlane.close();
    await closeStores();
  });
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
