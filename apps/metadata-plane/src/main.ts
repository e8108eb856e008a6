import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assertMetricsPort, createMetricsServer, DEFAULT_METRICS_PORT } from '@slate/http-edge';
import {
  BUCKETS,
  type BucketName,
  createLocalObjectStore,
  createS3ObjectStore,
  createSqsQueueBroker,
  type ObjectStore,
} from '@slate/stores';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { keyEncryptionKeyFromEnv } from './auth/key-encryption-env.ts';
import { googleProvider, type OidcProviderConfig } from './auth/oidc.ts';
import { databaseUrlFromEnv } from './db/database.ts';
import { createLogger } from './logger.ts';
import { createMetadataPlane } from './metadata-plane.ts';
import { createMetadataPlaneMetrics } from './observability/metadata-plane-metrics.ts';

/**
 * Standalone metadata plane. Configuration comes from the environment (flags override a few):
 * - database: `DATABASE_URL`, or `POSTGRES_USER`/`POSTGRES_PASSWORD`/`POSTGRES_HOST`/`POSTGRES_DB`
 *   (installation guide); neither → embedded PGlite in `SLATE_DATA_DIR` (default `.slate/metadata`);
 * - `SLATE_API_SERVER` (public URL), `SLATE_REGISTRATION_TOKEN`, `SLATE_MODE` (`production` default);
 * - `SLATE_SEED_FILE` / `--seed-file`: seed YAML (bare or at `chalk.metadata.seed`);
 * - objects: `SLATE_S3_BUCKET_PREFIX` (buckets `<prefix>-data`, `<prefix>-source`, …) with
 *   `SLATE_S3_REGION`, optional `SLATE_S3_ENDPOINT`, `SLATE_S3_FORCE_PATH_STYLE=true`; otherwise local
 *   folders in `SLATE_OBJECTS_DIR` (default `.slate/objects`);
 * - `PORT` / `--port` (default 4000), `HOST` / `--host` (default 0.0.0.0), `SLATE_WEB_ROOT`,
 *   `SLATE_TRUST_PROXY=true` (behind an ingress), `LOG_LEVEL`;
 * - `SLATE_METRICS_PORT` (default 9464): `GET /metrics` for Prometheus, without auth, on `HOST`; keep the port
 *   internal. It must differ from `PORT` (the process refuses to start otherwise);
 * - `SLATE_METADATA_GRPC_PORT` (default 4003; `off` disables): the gRPC port (h2c) serving
 *   `chalk.server.v1.AuthService/GetToken` and forwarding `chalk.engine.v1.QueryService` to the token's data
 *   plane, at each healthy query instance's host on `SLATE_DATA_PLANE_GRPC_PORT` (default 4002, the data
 *   plane's `SLATE_GRPC_PORT`); see docs/adr/0013-grpc-through-the-api-host.md;
 * - login: `GOOGLE_CLIENT_ID` + `GOOGLE_CLIENT_SECRET` (install guide) enable Google; any other OIDC issuer
 *   by discovery with `SLATE_OIDC_ISSUER`, `SLATE_OIDC_CLIENT_ID`, `SLATE_OIDC_CLIENT_SECRET` and
 *   optional `SLATE_OIDC_NAME` / `SLATE_OIDC_ID` (default `sso`);
 * - queues: pg-boss in the metadata database by default; `SLATE_QUEUES=sqs` uses SQS (`SLATE_SQS_REGION`,
 *   optional `SLATE_SQS_ENDPOINT`, `SLATE_SQS_PREFIX`) with the install guide's queue names;
 * - signing keys at rest: `SLATE_KEY_ENCRYPTION_KEY` (32 bytes, base64) or `SLATE_KEY_ENCRYPTION_KEY_FILE`;
 *   during a KEK rotation also `SLATE_KEY_ENCRYPTION_KEY_PREVIOUS` (or `_PREVIOUS_FILE`). Required with
 *   PostgreSQL (replicas share it); on PGlite, when unset, one is generated and kept in
 *   `SLATE_DATA_DIR/key-encryption-key`;
 * - `SLATE_HEARTBEAT_TIMEOUT_SECONDS` (default 60): when a silent data plane turns unhealthy;
 * - scheduler (ADR 0004): `SLATE_SCHEDULER_ENABLED` (`true` default; `false` leaves firing to other replicas
 *   or processes, triggers are still delivered), `SLATE_SCHEDULER_INTERVAL_MS` (default 1000, between passes),
 *   `SLATE_SCHEDULER_MAX_MISSED_RUNS` (default 1: due times fired per schedule when catching up).
 */
const EnvSchema = z.object({
  SLATE_MODE: z.enum(['embedded', 'production']).default('production'),
  SLATE_API_SERVER: z.url(),
  SLATE_REGISTRATION_TOKEN: z.string().min(16),
  SLATE_SEED_FILE: z.string().min(1).optional(),
  SLATE_DATA_DIR: z.string().min(1).default('.slate/metadata'),
  SLATE_OBJECTS_DIR: z.string().min(1).default('.slate/objects'),
  SLATE_S3_BUCKET_PREFIX: z.string().min(1).optional(),
  SLATE_S3_REGION: z.string().min(1).default('us-east-1'),
  SLATE_S3_ENDPOINT: z.url().optional(),
  SLATE_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  SLATE_WEB_ROOT: z.string().min(1).optional(),
  SLATE_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  SLATE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
  HOST: z.string().min(1).default('0.0.0.0'),
  SLATE_METADATA_GRPC_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)])
    .default(4003),
  SLATE_DATA_PLANE_GRPC_PORT: z.coerce.number().int().min(1).max(65535).default(4002),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  SLATE_OIDC_ISSUER: z.url().optional(),
  SLATE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  SLATE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  SLATE_OIDC_NAME: z.string().min(1).default('Single sign-on'),
  SLATE_OIDC_ID: z.string().min(1).default('sso'),
  SLATE_QUEUES: z.enum(['postgres', 'sqs']).default('postgres'),
  SLATE_SQS_REGION: z.string().min(1).default('us-east-1'),
  SLATE_SQS_ENDPOINT: z.url().optional(),
  SLATE_SQS_PREFIX: z.string().default(''),
  SLATE_HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().positive().default(60),
  SLATE_SCHEDULER_ENABLED: z.enum(['true', 'false']).default('true'),
  SLATE_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(1_000),
  SLATE_SCHEDULER_MAX_MISSED_RUNS: z.coerce.number().int().min(1).max(1_000).default(1),
});

/** Identity providers from the environment (Google as in the install guide, plus one generic issuer). */
function oidcProvidersFromEnv(env: z.output<typeof EnvSchema>): OidcProviderConfig[] {
  const providers: OidcProviderConfig[] = [];
  if (env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET) {
    providers.push(googleProvider(env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET));
  }
  if (env.SLATE_OIDC_ISSUER && env.SLATE_OIDC_CLIENT_ID && env.SLATE_OIDC_CLIENT_SECRET) {
    providers.push({
      id: env.SLATE_OIDC_ID,
      name: env.SLATE_OIDC_NAME,
      issuer: env.SLATE_OIDC_ISSUER,
      clientId: env.SLATE_OIDC_CLIENT_ID,
      clientSecret: env.SLATE_OIDC_CLIENT_SECRET,
    });
  }
  return providers;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, 'seed-file': { type: 'string' } },
  });
  const env = EnvSchema.parse({
    ...process.env,
    ...(flags.port ? { PORT: flags.port } : {}),
    ...(flags.host ? { HOST: flags.host } : {}),
    ...(flags['seed-file'] ? { SLATE_SEED_FILE: flags['seed-file'] } : {}),
  });
  assertMetricsPort(env.SLATE_METRICS_PORT, env.PORT);
  const logger = createLogger(env.LOG_LEVEL);
  const url = databaseUrlFromEnv(process.env);
  // With PostgreSQL every replica must hold the same KEK, so none is generated: start fails with how to set it.
  const kek = await keyEncryptionKeyFromEnv(process.env, {
    ...(url ? {} : { generateFile: join(env.SLATE_DATA_DIR, 'key-encryption-key') }),
  });
  const objectStore = createObjectStore(env);
  await objectStore.init();
  const queues =
    env.SLATE_QUEUES === 'sqs'
      ? createSqsQueueBroker({
          region: env.SLATE_SQS_REGION,
          endpoint: env.SLATE_SQS_ENDPOINT,
          namePrefix: env.SLATE_SQS_PREFIX,
        })
      : undefined;
  await queues?.init();
  const plane = await createMetadataPlane({
    mode: env.SLATE_MODE,
    database: url ? { type: 'postgres', url } : { type: 'pglite', dataDir: env.SLATE_DATA_DIR },
    objectStore,
    apiServer: env.SLATE_API_SERVER,
    registrationToken: env.SLATE_REGISTRATION_TOKEN,
    seed: env.SLATE_SEED_FILE ? parseYaml(await readFile(env.SLATE_SEED_FILE, 'utf8')) : undefined,
    webRoot: env.SLATE_WEB_ROOT,
    trustProxy: env.SLATE_TRUST_PROXY === 'true',
    logger,
    oidcProviders: oidcProvidersFromEnv(env),
    heartbeatTimeoutSeconds: env.SLATE_HEARTBEAT_TIMEOUT_SECONDS,
    keyEncryption: kek.provider,
    scheduler: {
      enabled: env.SLATE_SCHEDULER_ENABLED === 'true',
      intervalMs: env.SLATE_SCHEDULER_INTERVAL_MS,
      maxMissedRuns: env.SLATE_SCHEDULER_MAX_MISSED_RUNS,
    },
    grpc: { dataPlanePort: env.SLATE_DATA_PLANE_GRPC_PORT },
    ...(queues ? { queues } : {}),
  });
  const metrics = createMetadataPlaneMetrics();
  metrics.instrument(plane.app);
  const address = await plane.listen({ port: env.PORT, host: env.HOST });
  const metricsServer = createMetricsServer([metrics.registry]);
  await metricsServer.listen({ port: env.SLATE_METRICS_PORT, host: env.HOST });
  const grpcPort =
    env.SLATE_METADATA_GRPC_PORT === 'off'
      ? undefined
      : await plane.listenGrpc({ port: env.SLATE_METADATA_GRPC_PORT, host: env.HOST });
  logger.info(
    {
      address,
      grpcPort,
      database: url ? 'postgres' : 'pglite',
      mode: env.SLATE_MODE,
      keyEncryptionKey: kek.source,
    },
    'metadata plane listening',
  );
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await metricsServer.close();
    await plane.close();
    await queues?.close();
    await objectStore.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function createObjectStore(env: z.output<typeof EnvSchema>): ObjectStore {
  const prefix = env.SLATE_S3_BUCKET_PREFIX;
  if (!prefix) return createLocalObjectStore({ root: env.SLATE_OBJECTS_DIR });
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, `${prefix}-${b}`])) as Record<BucketName, string>;
  return createS3ObjectStore({
    region: env.SLATE_S3_REGION,
    endpoint: env.SLATE_S3_ENDPOINT,
    forcePathStyle: env.SLATE_S3_FORCE_PATH_STYLE === 'true',
    buckets,
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
