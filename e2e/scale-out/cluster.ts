/**
 * The scale-out test's set-up (issue 12, item 4): two metadata-plane processes on one PostgreSQL database
 * and three data-plane replicas of one data plane (`east`), all from the compiled build, on a private Redis
 * (online store, and the bus unless Kafka is asked for), an S3 server, and for Kafka librdkafka's mock
 * cluster (4 partitions per topic). More replicas can be started later with `startReplica`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  type KafkaMockCluster,
  type OwnRedisServer,
  startKafkaMockCluster,
  startRedisServer,
  testServices,
} from '@slate/testing';
import {
  accessToken,
  buildDist,
  createDatabase,
  createProcessGroup,
  createRoundRobinFront,
  createServiceToken,
  type FrontTarget,
  type OwnDatabase,
  type OwnS3Server,
  type ProcessGroup,
  type RoundRobinFront,
  repoRoot,
  runCli,
  type StartedProcess,
  signIn,
  startS3Server,
  until,
} from '../support/index.ts';
import { SCALE_OUT_FEATURES } from './project-source.ts';

export type BusKind = 'redis' | 'kafka';

/** A data-plane replica: its process, its API URL (when it serves queries) and its metrics URL. */
export interface Replica extends FrontTarget {
  readonly process: StartedProcess;
  readonly metricsUrl: string;
  readonly role: string;
}

interface InstanceView {
  instance_id: string;
  deployments: Record<string, string | null>;
  roles: string[];
  healthy: boolean;
}

/** The running set-up and what the tests do with it. */
export interface ScaleOutCluster {
  readonly bus: BusKind;
  /** This set-up's database name, Redis key prefix and Kafka topic prefix. */
  readonly run: string;
  readonly work: string;
  readonly group: ProcessGroup;
  readonly redis: OwnRedisServer;
  readonly kafka: KafkaMockCluster | undefined;
  readonly s3: OwnS3Server;
  /** The metadata planes' URLs; the first is the public one (the issuer tokens carry). */
  readonly metadataPlanes: readonly string[];
  /** Every replica started, in order. */
  readonly replicas: readonly Replica[];
  /** Round robin over the query replicas (a replica started later with a query role joins it). */
  readonly front: RoundRobinFront;
  /** A signed-in owner's cookies, for the metadata planes' REST API. */
  readonly cookie: string;
  /** `slate apply --force` with the compiled CLI, against the second metadata plane; the deployment's id. */
  apply(): Promise<string>;
  /** The data plane's instances as the second metadata plane shows them. */
  instances(): Promise<InstanceView[]>;
  /** Resolves once `expected` live query replicas report serving `deployment` for dev. */
  servedEverywhere(deployment: string, expected: number): Promise<void>;
  /** Starts one more replica of `east` with `role`, resolving once it is healthy (or its metrics answer). */
  startReplica(name: string, role: string): Promise<Replica>;
  /** Polls with the processes' output in the failure message. */
  until<T>(what: () => Promise<T | undefined>, label: string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

const registrationToken = 'a-registration-token-for-the-scale-out-test';

/**
 * Starts the set-up with the result bus (and stream topics) on `bus`, under `work` (the test's folder; the
 * project is copied there once and shared by both buses' set-ups).
 */
export async function startScaleOutCluster(bus: BusKind, work: string): Promise<ScaleOutCluster> {
  const run = `test_scaleout_${bus}_${process.pid}_${Date.now().toString(36)}`;
  const project = join(work, 'project');
  const group = createProcessGroup({
    cwd: work,
    // Only what a container would have: no NODE_OPTIONS (vitest's or tsx's loaders).
    env: { PATH: process.env.PATH ?? '', HOME: work, LOG_LEVEL: 'warn' },
  });
  const wait = <T>(what: () => Promise<T | undefined>, label: string, timeoutMs = 90_000) =>
    until(what, label, { timeoutMs, context: () => group.tails() });
  let database: OwnDatabase | undefined;
  let redis: OwnRedisServer | undefined;
  let kafka: KafkaMockCluster | undefined;
  let s3: OwnS3Server | undefined;
  const stop = async () => {
    await group.stopAll();
    await redis?.stop();
    await kafka?.stop();
    await s3?.close();
    await database?.drop();
  };
  try {
    if (bus === 'kafka') kafka = await startKafkaMockCluster();
    database = await createDatabase(testServices.postgresUrl, run);
    redis = await startRedisServer();
    s3 = await startS3Server(join(work, bus, 's3'), run.replaceAll('_', '-'));
    if (!existsSync(project)) writeProject(project, work);
    // Built here, as `npm run build` does (the web UI aside): the test must see this tree's sources.
    await buildDist();

    const keyEncryptionKey = randomBytes(32).toString('base64');
    const metadataPlanes: string[] = [];
    const apiPorts = [await freePort(), await freePort()];
    for (const port of apiPorts) metadataPlanes.push(`http://127.0.0.1:${port}`);
    for (const [i, port] of apiPorts.entries()) {
      const plane = group.startApp(`metadata-plane-${i}`, 'metadata-plane', {
        ...s3.env,
        DATABASE_URL: database.url,
        // One public URL for both: the issuer of every token, whichever process signed it.
        SLATE_API_SERVER: metadataPlanes[0]!,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        SLATE_KEY_ENCRYPTION_KEY: keyEncryptionKey,
        // Embedded mode only enables the password-less login this test signs in with.
        SLATE_MODE: 'embedded',
        SLATE_SEED_FILE: join(repoRoot, 'examples/quickstart/seed.yaml'),
        PORT: String(port),
        SLATE_METRICS_PORT: String(await freePort()),
        HOST: '127.0.0.1',
      });
      // One after the other: the second one starts on a migrated, seeded database.
      await group.waitUntilHealthy(plane, `${metadataPlanes[i]}/healthz`);
    }
    const cookie = await signIn(metadataPlanes[0]!);
    const token = await createServiceToken(metadataPlanes[0]!, cookie, {
      name: 'ci',
      permissions: ['query.online', 'query.offline', 'deploy.create', 'deploy.read'],
    });
    const cliEnv = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      SLATE_CLIENT_ID: token.client_id,
      SLATE_CLIENT_SECRET: token.client_secret,
    };

    const keyFile = join(work, bus, 'group-key.jwk');
    writeFileSync(
      keyFile,
      JSON.stringify(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })),
      {
        mode: 0o600,
      },
    );
    const datasetUrlKey = randomBytes(32).toString('hex');
    const replicas: Replica[] = [];
    const queryTargets: Replica[] = [];
    let jwt = '';
    const front = createRoundRobinFront(queryTargets, () => ({ authorization: `Bearer ${jwt}` }));
    const ownRedis = redis;
    const ownS3 = s3;
    const ownKafka = kafka;
    const launch = async (name: string, role: string): Promise<Replica> => {
      const port = await freePort();
      const metricsPort = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const index = replicas.length;
      const started = group.startApp(name, 'data-plane', {
        ...ownS3.env,
        // Replicas register with either metadata plane; tokens carry the first one's URL.
        SLATE_METADATA_PLANE_URL: metadataPlanes[index % 2]!,
        SLATE_METADATA_PLANE_ISSUER: metadataPlanes[0]!,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        SLATE_PUBLIC_URL: url,
        SLATE_DATA_PLANE_NAME: 'east',
        SLATE_INSTANCE_ID: name,
        SLATE_ROLE: role,
        SLATE_DATA_PLANE_KEY_FILE: keyFile,
        SLATE_DATASET_URL_KEY: datasetUrlKey,
        SLATE_STATE_DIR: join(work, bus, name),
        SLATE_GRPC_PORT: 'off',
        REDIS_URL: ownRedis.url,
        // The online store stays on Redis; the bus moves to Kafka when asked, 4 partitions a topic as the
        // mock cluster auto-creates them, and a short session so a killed consumer's partitions move soon.
        ...(ownKafka
          ? {
              KAFKA_BROKERS: ownKafka.brokers.join(','),
              KAFKA_TOPIC_PREFIX: run,
              KAFKA_IDEMPOTENT: 'false',
              KAFKA_PARTITIONS: '4',
              KAFKA_SESSION_TIMEOUT_MS: '10000',
            }
          : {}),
        SLATE_REDIS_KEY_PREFIX: run,
        PORT: String(port),
        SLATE_METRICS_PORT: String(metricsPort),
        HOST: '127.0.0.1',
      });
      const replica = {
        name,
        url,
        role,
        process: started,
        metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      };
      replicas.push(replica);
      return replica;
    };
    const ready = async (replica: Replica) => {
      const serves = replica.role.split(',').includes('query');
      await group.waitUntilHealthy(replica.process, serves ? `${replica.url}/healthz` : replica.metricsUrl);
      if (serves) queryTargets.push(replica);
    };
    // Every replica serves queries; two run persistence workers (one group), two run jobs.
    const roles = ['query,jobs', 'query,persistence', 'query,persistence,streaming,jobs'];
    const first = [];
    for (const [i, role] of roles.entries()) first.push(await launch(`east-${i}`, role));
    for (const replica of first) await ready(replica);
    jwt = await accessToken(metadataPlanes[0]!, token);

    const instances = async (): Promise<InstanceView[]> => {
      const res = await fetch(`${metadataPlanes[1]}/v1/data-planes`, { headers: { cookie } });
      if (!res.ok) throw new Error(`GET /v1/data-planes: ${res.status}`);
      const body = (await res.json()) as { items: { name: string; instances: InstanceView[] }[] };
      return body.items.find((p) => p.name === 'east')?.instances ?? [];
    };
    return {
      bus,
      run,
      work,
      group,
      redis,
      kafka,
      s3,
      metadataPlanes,
      replicas,
      front,
      cookie,
      async apply() {
        const { stdout } = await runCli(['apply', '--dir', project, '--force', '--json'], {
          cwd: work,
          env: { ...cliEnv, SLATE_API_SERVER: metadataPlanes[1]! },
        });
        return (JSON.parse(stdout) as { deployment: { id: string } }).deployment.id;
      },
      instances,
      async servedEverywhere(deployment, expected) {
        await wait(async () => {
          const list = (await instances()).filter((i) => i.roles.includes('query') && i.healthy);
          return list.length === expected && list.every((i) => i.deployments.dev === deployment)
            ? true
            : undefined;
        }, `${expected} query replicas on ${deployment}`);
      },
      async startReplica(name, role) {
        const replica = await launch(name, role);
        await ready(replica);
        return replica;
      },
      until: wait,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Copies the quickstart to `project` and adds the scale-out test's features (once for both set-ups). */
function writeProject(project: string, work: string): void {
  mkdirSync(project, { recursive: true });
  cpSync(join(repoRoot, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  writeFileSync(join(project, 'src/scale-out.ts'), SCALE_OUT_FEATURES);
  const index = join(project, 'src/index.ts');
  writeFileSync(index, `${readFileSync(index, 'utf8')}export * from './scale-out.ts';\n`);
  symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
}
