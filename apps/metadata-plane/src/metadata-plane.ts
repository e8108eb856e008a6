import { randomBytes } from 'node:crypto';
import {
  createPgBossQueueBroker,
  type ObjectStore,
  QUEUE_NAMES,
  type Queue,
  type QueueBroker,
  type QueueName,
  startQueueWorker,
} from '@slate/stores';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createLocalKeyEncryptionKeyProvider, type KeyEncryptionKeyProvider } from './auth/key-encryption.ts';
import { loadKeyRing } from './auth/key-ring.ts';
import { createOidcLogin, type OidcProviderConfig, OidcProviderSchema } from './auth/oidc.ts';
import type { UserPrincipal } from './auth/principal.ts';
import { issueUserAccessToken, userPrincipal } from './auth/users.ts';
import { type BatchStatusMessage, recordBatchStatus } from './batch/batch-jobs.ts';
import { type BatchReportMessage, recordBatchReport } from './batch/batch-reports.ts';
import type { MetadataPlaneContext } from './context.ts';
import {
  type HeartbeatMessage,
  type RegisterDataPlaneInput,
  recordHeartbeat,
  registerDataPlane,
} from './data-planes/data-plane-instances.ts';
import { assignUnassignedEnvironments } from './data-planes/data-planes.ts';
import { createRevisionNotifier } from './data-planes/revision-notifier.ts';
import { createDatabase, DatabaseConfigSchema } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Database } from './db/schema.ts';
import { createDataPlaneTargets } from './forwarding/data-plane-targets.ts';
import { createMetadataGrpcServer, grpcOriginWithPort } from './grpc/metadata-grpc-server.ts';
import type { Router } from './http/router.ts';
import { buildHttpApp } from './http/server.ts';
import { createLogger } from './logger.ts';
import { createMetricStore, type MetricStore } from './metrics/metric-store.ts';
import { type Monitoring, startMonitoring } from './monitoring/monitoring.ts';
import { createScheduleScheduler, type ScheduleScheduler } from './schedules/schedule-scheduler.ts';
import { startTriggerDispatch } from './schedules/trigger-dispatch.ts';
import { applySeed, parseSeed, type SeedResult } from './seed/seed.ts';
import { ClientSecretLimitsSchema, createClientSecretVerifier } from './tokens/client-secret-verifier.ts';
import {
  type CreatedServiceToken,
  type CreateServiceTokenInput,
  createServiceToken,
  revokeServiceToken,
} from './tokens/service-tokens.ts';

const isQueueBroker = (v: unknown): v is QueueBroker =>
  typeof v === 'object' && v !== null && typeof (v as QueueBroker).queue === 'function';
const isObjectStore = (v: unknown): v is ObjectStore =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ObjectStore).put === 'function' &&
  typeof (v as ObjectStore).head === 'function';
const isLogger = (v: unknown): v is Logger =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Logger).child === 'function' &&
  typeof (v as Logger).info === 'function';

/** Configuration of `createMetadataPlane`. */
export const MetadataPlaneConfigSchema = z.object({
  /** `embedded` (inside `slate up`: local email login) or `production` (no local login). */
  mode: z.enum(['embedded', 'production']),
  database: DatabaseConfigSchema,
  /** Where deployment bundles go (`source` bucket). Owned by the caller: `close()` does not close it. */
  objectStore: z.custom<ObjectStore>(isObjectStore, 'an ObjectStore'),
  /** Public URL of this API (JWT issuer, `api_server` in token responses). */
  apiServer: z.url(),
  /** Shared secret data planes present to `POST /v1/data-planes/register`. */
  registrationToken: z.string().min(16, 'use at least 16 characters'),
  /** A parsed seed document (bare, or nested at `chalk.metadata.seed` / `slate.metadata.seed`), applied at start. */
  seed: z.unknown().optional(),
  /** A built web UI to serve at `/`. */
  webRoot: z.string().min(1).optional(),
  /** Defaults to JSON logs at `info` with secrets redacted. */
  logger: z.custom<Logger>(isLogger, 'a pino logger').optional(),
  /** Believe `X-Forwarded-For` for client IPs (set when running behind an ingress). Default false. */
  trustProxy: z.boolean().default(false),
  /** Injected clock (tests). */
  now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
  /**
   * Where the installation's queues live. Default: pg-boss in the metadata database (PGlite or
   * PostgreSQL). Pass an SQS broker on AWS. Owned by the caller when passed: `close()` does not close it.
   */
  queues: z.custom<QueueBroker>(isQueueBroker, 'a QueueBroker').optional(),
  /** A data plane whose last heartbeat is older than this is unhealthy. Default 60 s. */
  heartbeatTimeoutSeconds: z.number().positive().default(60),
  /** OIDC identity providers (Google from GOOGLE_CLIENT_ID/SECRET, or any issuer by discovery). */
  oidcProviders: z.array(OidcProviderSchema).default([]),
  /**
   * The scheduler of cron resolvers and scheduled queries (enqueues on `scheduled-resolver-trigger` and
   * `scheduled-query-trigger`; data planes lease the triggers over HTTP). Run it on every replica: passes
   * agree through PostgreSQL. `enabled: false` leaves firing to another process (or to `services.schedules.tick()`
   * in tests); triggers are still delivered.
   */
  scheduler: z
    .object({
      enabled: z.boolean().default(true),
      intervalMs: z.number().int().positive().default(1_000),
      /** Due times fired per schedule when catching up after downtime (the latest ones). Default 1. */
      maxMissedRuns: z.number().int().positive().default(1),
    })
    .prefault({}),
  /**
   * Limits of `POST /v1/oauth/token`: per-IP, per-client and global rate limits (429 with Retry-After)
   * and a bounded argon2 pool (503 when its queue is full). Defaults suit one small replica.
   */
  tokenEndpoint: ClientSecretLimitsSchema.prefault({}),
  /**
   * Encrypts the token-signing keys at rest (AES-256-GCM envelopes). `main.ts` builds it from
   * `SLATE_KEY_ENCRYPTION_KEY` (see `keyEncryptionKeyFromEnv`). Omitted: a random key for this process
   * only (tests), so a restart on the same database cannot read the signing keys — always pass one for a
   * database that outlives the process.
   */
  keyEncryption: z
    .custom<KeyEncryptionKeyProvider>(
      (v) =>
        typeof v === 'object' && v !== null && typeof (v as KeyEncryptionKeyProvider).unwrap === 'function',
      'a KeyEncryptionKeyProvider',
    )
    .optional(),
  /**
   * The API host's gRPC port (`listenGrpc`): `chalk.server.v1.AuthService/GetToken`, and
   * `chalk.engine.v1.QueryService` forwarded to the token's data plane on `dataPlanePort` (the data plane's
   * `SLATE_GRPC_PORT`) at the host of each healthy query instance's URL (ADR 0013).
   */
  grpc: z
    .object({
      dataPlanePort: z.number().int().min(1).max(65535).default(4002),
      /** Forwarded calls in flight at once; more get RESOURCE_EXHAUSTED. */
      maxInFlight: z.number().int().positive().default(1024),
    })
    .prefault({}),
  /** Test hook: receives the router with every mounted route. */
  onRoutes: z.custom<(router: Router) => void>((v) => typeof v === 'function').optional(),
});
export type MetadataPlaneConfig = z.input<typeof MetadataPlaneConfigSchema>;

/** In-process operations, for `slate up`, tests and admin tooling (no HTTP, no permission checks). */
export interface MetadataPlaneServices {
  readonly db: Kysely<Database>;
  /** Validates, applies (idempotently) and assigns new environments to a data plane. */
  applySeed(document: unknown): Promise<SeedResult>;
  createServiceToken(input: CreateServiceTokenInput): Promise<CreatedServiceToken>;
  revokeServiceToken(id: string): Promise<void>;
  registerDataPlane(
    input: RegisterDataPlaneInput,
  ): Promise<{ data_plane_id: string; instance_id: string; token: string }>;
  /** Signs with a new key; old keys stay in the JWKS. Returns the new `kid`. */
  rotateSigningKey(): Promise<string>;
  /** A user access token (e.g. for `slate login` in embedded mode). */
  issueUserAccessToken(userId: string, environmentId: string | null, ttlSeconds?: number): Promise<string>;
  /** The installation's queues, by the install guide's names. */
  readonly queues: Readonly<Record<QueueName, Queue>>;
  /** The cron scheduler (`tick()` runs one pass at the injected clock's time). */
  readonly schedules: ScheduleScheduler;
  /** Alerts as code: `schedule()` / `drain()` / `deliver()` run one pass each (tests). */
  readonly monitoring: Monitoring;
  /** Metric rollups: record data planes' reports, read series, prune past retention. */
  readonly metrics: MetricStore;
}

export interface MetadataPlane {
  /** The fastify app, not listening (use `app.inject` in tests). */
  readonly app: FastifyInstance;
  readonly services: MetadataPlaneServices;
  /** Starts listening; resolves to the bound URL. */
  listen(options: { port: number; host?: string }): Promise<string>;
  /**
   * Starts the gRPC port (h2c; token exchange and forwarded `QueryService` calls); resolves to the bound port.
   * Not started unless called (`main.ts`: `SLATE_METADATA_GRPC_PORT`, default 4003, `off` to disable).
   */
  listenGrpc(options: { port: number; host?: string }): Promise<number>;
  /** Releases long polls, stops the server and closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the database, applies migrations (under an advisory lock), loads or creates the signing key,
 * applies the seed, and builds the HTTP app.
 *
 * @throws ZodError for an invalid config; SlateError `INVALID_SEED` / `MIGRATION_FAILED`.
 * @example
 * const plane = await createMetadataPlane({
 *   mode: 'embedded',
 *   database: { type: 'pglite', dataDir: '.slate/metadata' },
 *   objectStore,
 *   apiServer: 'http://127.0.0.1:4000',
 *   registrationToken: 'a-long-random-registration-token',
 * });
 * await plane.listen({ port: 4000 });
 */
export async function createMetadataPlane(config: MetadataPlaneConfig): Promise<MetadataPlane> {
  const parsed = MetadataPlaneConfigSchema.parse(config);
  const logger = parsed.logger ?? createLogger();
  const now = parsed.now ?? (() => new Date());
  const database = await createDatabase(parsed.database);
  // Undone in reverse order if start-up fails half way (pg-boss timers would keep the process alive).
  const undo: (() => Promise<void>)[] = [];
  try {
    const { db } = database;
    await migrateToLatest(db);
    const apiServer = parsed.apiServer.replace(/\/+$/, '');
    const kek =
      parsed.keyEncryption ??
      createLocalKeyEncryptionKeyProvider({ current: randomBytes(32).toString('base64') });
    if (!parsed.keyEncryption) {
      logger.warn('no key-encryption key given: signing keys are encrypted with a key of this process only');
    }
    const keys = await loadKeyRing(db, apiServer, kek);
    const notifier = createRevisionNotifier();
    const shutdown = new AbortController();
    const broker =
      parsed.queues ??
      createPgBossQueueBroker({
        connection: { executeSql: database.executeSql },
        onError: (error) => logger.warn({ err: error.message }, 'queue maintenance failed'),
      });
    await broker.init();
    if (!parsed.queues) undo.push(() => broker.close());
    const queues = {} as Record<QueueName, Queue>;
    for (const name of QUEUE_NAMES) {
      // Heartbeats are only worth their freshness: one quick attempt, then the next one supersedes it.
      queues[name] = await broker.queue(
        name,
        name === 'heartbeat' ? { visibilityTimeoutSeconds: 30, maxAttempts: 2, retryDelaySeconds: 1 } : {},
      );
    }
    const heartbeatQueue = queues.heartbeat as Queue<HeartbeatMessage>;
    const heartbeatWorker = startQueueWorker(heartbeatQueue, (m) => recordHeartbeat(db, m.body), {
      concurrency: 4,
      pollMs: 500,
      onError: (error) => logger.warn({ err: String(error) }, 'heartbeat not recorded'),
    });
    undo.push(() => heartbeatWorker.stop());
    const batchStatusQueue = queues['batch-status'] as Queue<BatchStatusMessage>;
    const batchStatusWorker = startQueueWorker(batchStatusQueue, (m) => recordBatchStatus(db, m.body), {
      concurrency: 2,
      pollMs: 500,
      onError: (error) => logger.warn({ err: String(error) }, 'batch status not recorded'),
    });
    undo.push(() => batchStatusWorker.stop());
    const batchReportQueue = queues['batch-report'] as Queue<BatchReportMessage>;
    const batchReportWorker = startQueueWorker(batchReportQueue, (m) => recordBatchReport(db, m.body), {
      concurrency: 2,
      pollMs: 500,
      onError: (error) => logger.warn({ err: String(error) }, 'batch report not recorded'),
    });
    undo.push(() => batchReportWorker.stop());
    const scheduler = createScheduleScheduler({
      db,
      resolverQueue: queues['scheduled-resolver-trigger'],
      queryQueue: queues['scheduled-query-trigger'],
      clock: now,
      maxMissedRuns: parsed.scheduler.maxMissedRuns,
      intervalMs: parsed.scheduler.intervalMs,
      logger,
    });
    const triggerDispatch = startTriggerDispatch({
      db,
      queues: [queues['scheduled-resolver-trigger'], queues['scheduled-query-trigger']],
      notifier,
      clock: now,
      logger,
    });
    undo.push(() => triggerDispatch.stop());
    // Metric rollups past retention go every 10 minutes (every replica may prune: deletes are idempotent).
    const metricStore = createMetricStore(db, { now: () => now().getTime() });
    const metricPruner = setInterval(
      () =>
        void metricStore
          .prune()
          .catch((err: unknown) => logger.warn({ err: String(err) }, 'metric retention pass failed')),
      10 * 60_000,
    );
    metricPruner.unref();
    undo.push(async () => clearInterval(metricPruner));
    const ctx: MetadataPlaneContext = {
      db,
      keys,
      clientSecrets: createClientSecretVerifier(parsed.tokenEndpoint),
      notifier,
      objectStore: parsed.objectStore,
      mode: parsed.mode,
      apiServer,
      registrationToken: parsed.registrationToken,
      now,
      shutdown: shutdown.signal,
      heartbeats: {
        send: async (dataPlaneId, instanceId) => {
          const at = now().toISOString();
          await heartbeatQueue.send(
            { data_plane_id: dataPlaneId, instance_id: instanceId, at },
            { idempotencyKey: `${dataPlaneId}/${instanceId ?? ''}@${at}` },
          );
        },
      },
      batchStatus: {
        send: async (message) => {
          await batchStatusQueue.send(message, {
            idempotencyKey: `${message.operation_id}@${message.status}@${message.at}`,
          });
        },
      },
      batchReports: {
        send: async (message) => {
          await batchReportQueue.send(message, { idempotencyKey: `${message.operation_id}@${message.at}` });
        },
      },
      heartbeatTimeoutMs: parsed.heartbeatTimeoutSeconds * 1000,
      oidc: createOidcLogin(db, apiServer, parsed.oidcProviders as OidcProviderConfig[]),
      keyEncryption: kek,
    };
    // Alerts as code: checks on `metric-check-trigger`, incidents, delivery (runs with the scheduler).
    const monitoring = startMonitoring({
      db,
      queue: queues['metric-check-trigger'],
      kek,
      clock: now,
      linkBase: apiServer,
      enabled: parsed.scheduler.enabled,
      intervalMs: parsed.scheduler.intervalMs,
      logger,
    });
    undo.push(() => monitoring.stop());
    const services: MetadataPlaneServices = {
      db,
      applySeed: async (document) => {
        const result = await applySeed(db, parseSeed(document));
        await assignUnassignedEnvironments(db, notifier);
        return result;
      },
      createServiceToken: (input) => createServiceToken(db, input),
      revokeServiceToken: (id) => revokeServiceToken(db, notifier, id, now()),
      registerDataPlane: (input) =>
        registerDataPlane(db, notifier, input, {
          now: now(),
          heartbeatTimeoutMs: parsed.heartbeatTimeoutSeconds * 1000,
        }),
      rotateSigningKey: () => keys.rotate(),
      issueUserAccessToken: async (userId, environmentId, ttlSeconds = 3600) => {
        const user: UserPrincipal = await userPrincipal(db, userId, 'bearer', environmentId);
        return issueUserAccessToken(db, keys, user, environmentId, ttlSeconds);
      },
      queues,
      schedules: scheduler,
      monitoring,
      metrics: metricStore,
    };
    if (parsed.seed !== undefined) {
      const result = await services.applySeed(parsed.seed);
      logger.info({ seed: result }, 'seed applied');
    }
    const app = await buildHttpApp(ctx, {
      logger,
      webRoot: parsed.webRoot,
      trustProxy: parsed.trustProxy,
      onRoutes: parsed.onRoutes,
    });
    if (parsed.scheduler.enabled) {
      scheduler.start();
      undo.push(() => scheduler.stop());
    }
    const grpc = createMetadataGrpcServer({
      ctx,
      targets: createDataPlaneTargets({ db, now, heartbeatTimeoutMs: ctx.heartbeatTimeoutMs }),
      grpcOriginOf: grpcOriginWithPort(parsed.grpc.dataPlanePort),
      logger: logger.child({ api: 'grpc' }),
      maxInFlight: parsed.grpc.maxInFlight,
    });
    // The Go client exchanges tokens with the Connect protocol at `api_server` (HTTP/1.1 works): the
    // HTTP port answers `AuthService/GetToken` too, the body left unread for Connect to parse and cap.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.post('/chalk.server.v1.AuthService/GetToken', async (request, reply) => {
        reply.hijack();
        grpc.serveConnect(request.raw, reply.raw);
      });
    });
    let closed = false;
    return {
      app,
      services,
      listen: ({ port, host = '127.0.0.1' }) => app.listen({ port, host }),
      listenGrpc: ({ port, host = '127.0.0.1' }) => grpc.listen({ port, host }),
      close: async () => {
        if (closed) return;
        closed = true;
        shutdown.abort();
        await grpc.close();
        await app.close();
        await heartbeatWorker.stop();
        await batchStatusWorker.stop();
        await batchReportWorker.stop();
        await scheduler.stop();
        await monitoring.stop();
        await triggerDispatch.stop();
        clearInterval(metricPruner);
        if (!parsed.queues) await broker.close();
        await database.close();
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    await database.close();
    throw error;
  }
}
