import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSlateClient, type SlateClient } from '@slate/client';
import { createDataPlane, type DataPlane, type DataSourceConfig } from '@slate/data-plane';
import { SlateError } from '@slate/graph';
import { createRedactingLogger } from '@slate/http-edge';
import {
  createMetadataPlane,
  keyEncryptionKeyFromEnv,
  type MetadataPlane,
  type Permission,
  parseSeed,
} from '@slate/metadata-plane';
import {
  createLocalObjectStore,
  createLogBus,
  createOnlineStore,
  createParquetOfflineStore,
  type OnlineStoreConfig,
  offlineStoreTuningFromEnv,
} from '@slate/stores';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** How `slate up` runs the platform on one machine. */
export interface PlatformOptions {
  /** Where everything lives: the PGlite database, the buckets, bundles and credentials. */
  readonly stateDir: string;
  readonly host: string;
  readonly port: number;
  readonly dataPlanePort: number;
  /**
   * gRPC (h2c): `dataPlane` is the data plane's `chalk.engine.v1.QueryService` port, `apiHost` the API
   * host's (token exchange, and every query call forwarded to the data plane; ADR 0013). Omitted: no gRPC.
   * The API host's port needs the data plane's.
   */
  readonly grpc?: { readonly dataPlane: number; readonly apiHost?: number };
  /** A seed document (the installation guide's `seed.yaml`) applied at start. */
  readonly seedFile?: string;
  /** A built web UI to serve at `/`. */
  readonly webRoot?: string;
  readonly logger?: Logger;
  /** Named SQL data sources of the environment, for SQL resolvers. */
  readonly dataSources?: readonly DataSourceConfig[];
  /**
   * The online store. Default: LMDB in `<stateDir>/online`, flushed to disk before a write is acknowledged,
   * so uploaded values survive restarts and crashes (ADR 0008-embedded-online-store).
   */
  readonly onlineStore?: OnlineStoreConfig;
}

/** The credentials file `slate up` writes for the CLI and the seed product's clients. */
export const CredentialsFileSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  api_server: z.url(),
  environment: z.string().min(1),
});
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

export interface Platform {
  readonly apiServer: string;
  readonly dataPlaneUrl: string;
  readonly environment: string;
  readonly credentialsPath: string;
  /** The seed's owner invite: who can sign in to the web UI. */
  readonly ownerEmail?: string;
  /** A client holding the environment's service credentials. */
  readonly client: SlateClient;
  close(): Promise<void>;
}

/**
 * Starts the whole platform in this process on embedded defaults: the metadata plane on PGlite, one data
 * plane with an LMDB online store on disk and local folders as buckets. Reuses the state folder across
 * restarts (database, signing keys, credentials); a fresh service token is created only when the saved one
 * no longer works.
 *
 * @throws SlateError `PORT_IN_USE` (kind `conflict`), `INVALID_SEED`, `NO_ENVIRONMENT`.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const logger = options.logger ?? createRedactingLogger({ level: 'warn' });
  const apiServer = `http://${options.host}:${options.port}`;
  const dataPlaneUrl = `http://${options.host}:${options.dataPlanePort}`;
  await mkdir(options.stateDir, { recursive: true });

  const objectStore = createLocalObjectStore({ root: join(options.stateDir, 'buckets') });
  const onlineStore = createOnlineStore(
    options.onlineStore ?? { type: 'lmdb', path: join(options.stateDir, 'online') },
  );
  // Background persistence: computed and uploaded values travel a durable log to the online and offline stores.
  const bus = createLogBus({ root: join(options.stateDir, 'bus') });
  const offlineStore = createParquetOfflineStore({
    objectStore,
    stagingDir: join(options.stateDir, 'offline-staging'),
    ...offlineStoreTuningFromEnv(process.env),
  });
  for (const store of [objectStore, onlineStore, bus, offlineStore]) await store.init();
  // Parsed here (and validated, with every issue's path) so a bad seed stops before anything starts.
  const seed = options.seedFile ? parseSeed(parseYaml(await readFile(options.seedFile, 'utf8'))) : undefined;
  // Both planes run here, so the registration secret never needs to leave this process.
  const registrationToken = randomBytes(24).toString('base64url');

  const closers: (() => Promise<void>)[] = [
    () => objectStore.close(),
    () => onlineStore.close(),
    () => bus.close(),
    () => offlineStore.close(),
  ];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    // The signing keys' key-encryption key: SLATE_KEY_ENCRYPTION_KEY when set, else one kept beside the data.
    const kek = await keyEncryptionKeyFromEnv(process.env, {
      generateFile: join(options.stateDir, 'key-encryption-key'),
    });
    const metadataPlane: MetadataPlane = await createMetadataPlane({
      mode: 'embedded',
      keyEncryption: kek.provider,
      database: { type: 'pglite', dataDir: join(options.stateDir, 'metadata') },
      objectStore,
      apiServer,
      registrationToken,
      seed,
      webRoot: options.webRoot,
      logger,
      ...(options.grpc ? { grpc: { dataPlanePort: options.grpc.dataPlane } } : {}),
    });
    closers.push(() => metadataPlane.close());
    await listenOrExplain(
      () => metadataPlane.listen({ port: options.port, host: options.host }),
      options.port,
    );

    const dataPlane: DataPlane = createDataPlane({
      name: 'local',
      publicUrl: dataPlaneUrl,
      metadataPlaneUrl: apiServer,
      registrationToken,
      objectStore,
      onlineStore,
      stateDir: join(options.stateDir, 'data-plane'),
      logger,
      offline: { bus, offlineStore },
      dataSources: options.dataSources,
      ...(options.grpc ? { grpc: { port: options.grpc.dataPlane, host: options.host } } : {}),
    });
    closers.push(() => dataPlane.close());
    await listenOrExplain(
      () => dataPlane.start({ port: options.dataPlanePort, host: options.host }),
      options.dataPlanePort,
    );
    await dataPlane.ready();
    const apiHostGrpcPort = options.grpc?.apiHost;
    if (apiHostGrpcPort !== undefined)
      await listenOrExplain(
        () => metadataPlane.listenGrpc({ port: apiHostGrpcPort, host: options.host }),
        apiHostGrpcPort,
      );

    const credentialsPath = join(options.stateDir, 'credentials.json');
    const credentials = await ensureCredentials(
      metadataPlane,
      credentialsPath,
      apiServer,
      seed?.environments[0]?.id,
    );
    const client = createSlateClient({
      apiServer,
      clientId: credentials.client_id,
      clientSecret: credentials.client_secret,
      environment: credentials.environment,
    });
    const ownerEmail = seed?.team_invites.find((invite) => invite.role === 'owner')?.email;
    return {
      apiServer,
      dataPlaneUrl,
      environment: credentials.environment,
      credentialsPath,
      ownerEmail,
      client,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function listenOrExplain(listen: () => Promise<unknown>, port: number): Promise<void> {
  try {
    await listen();
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new SlateError(
        'conflict',
        'PORT_IN_USE',
        `port ${port} is in use: stop what holds it, or pick another port (--port, --data-plane-port)`,
      );
    }
    throw error;
  }
}

/** Every permission an environment-scoped token can hold: the local developer owns the laptop. */
const localTokenPermissions: Permission[] = [
  'query.online',
  'query.offline',
  'deploy.read',
  'deploy.create',
  'deploy.redeploy',
  'logs.list',
  'cron.read',
  'cron.create',
  'secrets.list',
  'secrets.write',
  'tokens.list',
];

/** Reuses the saved credentials when they still work, else creates a service token and saves it (mode 0600). */
async function ensureCredentials(
  metadataPlane: MetadataPlane,
  path: string,
  apiServer: string,
  environment: string | undefined,
): Promise<CredentialsFile> {
  const saved = CredentialsFileSchema.safeParse(await readFile(path, 'utf8').then(JSON.parse, () => null));
  if (
    saved.success &&
    saved.data.api_server === apiServer &&
    (environment === undefined || saved.data.environment === environment)
  ) {
    const works = await createSlateClient({
      apiServer,
      clientId: saved.data.client_id,
      clientSecret: saved.data.client_secret,
    })
      .whoAmI()
      .then(
        () => true,
        () => false,
      );
    if (works) return saved.data;
  }
  const environmentId = environment ?? (await firstEnvironment(metadataPlane));
  const token = await metadataPlane.services.createServiceToken({
    environmentId,
    name: 'slate up',
    permissions: localTokenPermissions,
  });
  const credentials: CredentialsFile = {
    client_id: token.clientId,
    client_secret: token.clientSecret,
    api_server: apiServer,
    environment: environmentId,
  };
  const temporary = `${path}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return credentials;
}

async function firstEnvironment(metadataPlane: MetadataPlane): Promise<string> {
  const row = await metadataPlane.services.db
    .selectFrom('environments')
    .select('id')
    .orderBy('created_at')
    .executeTakeFirst();
  if (!row)
    throw new SlateError(
      'input',
      'NO_ENVIRONMENT',
      'no environment exists: pass a seed file that declares one (--seed)',
    );
  return row.id;
}
