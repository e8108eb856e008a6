import { hostname } from 'node:os';
import {
  createObjectStore,
  createOnlineStore,
  objectStoreConfigFromEnv,
  onlineStoreConfigFromEnv,
} from '@slate/stores';
import { pino } from 'pino';
import { z } from 'zod';
import { createDataPlane } from './data-plane.ts';

/**
 * Standalone data plane, configured from the environment:
 * - `SLATE_METADATA_PLANE_URL` (where to register and long-poll), `SLATE_REGISTRATION_TOKEN`;
 * - `SLATE_METADATA_PLANE_ISSUER`: the issuer tokens carry, the metadata plane's public URL (default
 *   `SLATE_METADATA_PLANE_URL`; differs when this data plane reaches it by an in-cluster address);
 * - `SLATE_PUBLIC_URL`: the URL clients reach this data plane at (default `http://<hostname>:<PORT>`);
 * - `SLATE_DATA_PLANE_NAME` (default the hostname; replicas of one data plane share it);
 * - online store: `REDIS_URL` (else in-process); buckets: `SLATE_S3_BUCKET_PREFIX` … (else
 *   `SLATE_OBJECTS_DIR`), as for the metadata plane;
 * - `SLATE_STATE_DIR` (bundle cache, default `.slate/data-plane`), `SLATE_WORKERS` (resolver threads per
 *   deployment), `PORT` (default 4001), `HOST` (default 0.0.0.0), `LOG_LEVEL`.
 */
const EnvSchema = z.object({
  SLATE_METADATA_PLANE_URL: z.url(),
  SLATE_METADATA_PLANE_ISSUER: z.url().optional(),
  SLATE_REGISTRATION_TOKEN: z.string().min(16),
  SLATE_PUBLIC_URL: z.url().optional(),
  SLATE_DATA_PLANE_NAME: z.string().min(1).default(hostname()),
  SLATE_STATE_DIR: z.string().min(1).default('.slate/data-plane'),
  SLATE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  PORT: z.coerce.number().int().min(0).max(65535).default(4001),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

async function main(): Promise<void> {
  const env = EnvSchema.parse(process.env);
  const logger = pino({ name: 'data-plane', level: env.LOG_LEVEL, redact: ['req.headers.authorization'] });
  const objectStore = createObjectStore(objectStoreConfigFromEnv(process.env, '.slate/objects'));
  const onlineStore = createOnlineStore(onlineStoreConfigFromEnv(process.env));
  await objectStore.init();
  await onlineStore.init();
  const dataPlane = createDataPlane({
    name: env.SLATE_DATA_PLANE_NAME,
    publicUrl: env.SLATE_PUBLIC_URL ?? `http://${hostname()}:${env.PORT}`,
    metadataPlaneUrl: env.SLATE_METADATA_PLANE_URL,
    issuer: env.SLATE_METADATA_PLANE_ISSUER?.replace(/\/+$/, ''),
    registrationToken: env.SLATE_REGISTRATION_TOKEN,
    objectStore,
    onlineStore,
    stateDir: env.SLATE_STATE_DIR,
    workers: env.SLATE_WORKERS,
    logger,
  });
  await dataPlane.start({ port: env.PORT, host: env.HOST });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await dataPlane.close();
    await onlineStore.close();
    await objectStore.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
