/**
 * Brings up what `npm run bench -- serving` loads, as users run it: a private Redis, the compiled metadata
 * plane (embedded PGlite, the quickstart's seed), a compiled data plane with its online store in Redis and the
 * bench's feature repository deployed through the API with a real service token, the compiled bare limit,
 * and (for shape E) `slate up` on its embedded defaults serving the quickstart.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGraph } from '@slate/sdk';
import { createRedisOnlineStore } from '@slate/stores';
import { freePort } from '@slate/testing';
import { build } from 'esbuild';
import {
  buildDist,
  buildLimit,
  repoRoot,
  type Started,
  startProcess,
  startRedis,
  waitHealthy,
} from './processes.ts';
import * as repo from './repo.ts';

const REGISTRATION = 'a-registration-token-for-the-serving-bench';
export const ENVIRONMENT = 'dev';
export const ENTITY = 7;
export const BULK_IDS = Array.from({ length: 100 }, (_, i) => 1000 + i);

/** Everything the shapes load, with the pids whose CPU is measured. */
export interface Platform {
  readonly work: string;
  readonly apiServer: string;
  readonly dataPlaneUrl: string;
  readonly dataPlane: Started;
  /** The persistence role, in its own process (it drains the result bus the query server publishes to). */
  readonly persistence: Started;
  readonly metadataPlane: Started;
  readonly limitUrl: string;
  readonly limit: Started;
  readonly dataPlaneMetrics: string;
  readonly token: string;
  readonly cachedFeatures: readonly string[];
  readonly liveFeatures: readonly string[];
}

async function json(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A service token's access token: signs in as the seeded owner, creates the token, exchanges it. */
async function serviceToken(apiServer: string): Promise<string> {
  const login = await fetch(`${apiServer}/v1/auth/local-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1' },
    body: JSON.stringify({ email: 'owner@example.com' }),
  });
  if (login.status >= 300) throw new Error(`local login failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const created = await json(
    await fetch(`${apiServer}/v1/environments/${ENVIRONMENT}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slate-csrf': '1', cookie },
      body: JSON.stringify({ name: 'bench', permissions: ['query.online', 'deploy.create', 'deploy.read'] }),
    }),
  );
  return exchange(apiServer, created.client_id as string, created.client_secret as string);
}

async function exchange(apiServer: string, clientId: string, clientSecret: string): Promise<string> {
  const exchanged = await json(
    await fetch(`${apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    }),
  );
  return exchanged.access_token as string;
}

/** Deploys bench/serving/repo.ts through the API, as `slate apply` does. */
async function deploy(apiServer: string, token: string): Promise<void> {
  const bundle = await build({
    entryPoints: [join(repoRoot, 'bench/serving/repo.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'warning',
  });
  const bytes = Buffer.from(bundle.outputFiles[0]!.contents);
  await json(
    await fetch(`${apiServer}/v1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        graph: collectGraph(repo).artifact,
        bundle_base64: bytes.toString('base64'),
        source_hash: createHash('sha256').update(bytes).digest('hex'),
      }),
    }),
  );
}

/** Starts Redis, both planes, the limit; deploys; precomputes shape A's and C's values. */
export async function startPlatform(options: {
  workers: number;
  /** Extra node flags for the data plane (`--cpu-prof …` when profiling). */
  nodeArgs: readonly string[];
}): Promise<Platform> {
  await buildDist();
  const limitFile = await buildLimit();
  const work = mkdtempSync(join(tmpdir(), 'slate-bench-serving-'));
  const [redisPort, apiPort, dpPort, mpMetrics, dpMetrics, limitPort, persistencePort, persistenceMetrics] =
    await Promise.all(Array.from({ length: 8 }, () => freePort()));
  // Replicas of one data plane share its X25519 key (docs/adr/0009-data-plane-replicas.md).
  const keyFile = join(work, 'data-plane-key.json');
  const { privateKey } = generateKeyPairSync('x25519');
  writeFileSync(keyFile, JSON.stringify(privateKey.export({ format: 'jwk' })));
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  await startRedis(redisPort!);
  const apiServer = `http://127.0.0.1:${apiPort}`;
  const dataPlaneUrl = `http://127.0.0.1:${dpPort}`;
  const metadataPlane = startProcess(
    process.execPath,
    [join(repoRoot, 'dist/metadata-plane/main.js')],
    {
      SLATE_MODE: 'embedded',
      SLATE_METADATA_GRPC_PORT: 'off',
      SLATE_API_SERVER: apiServer,
      SLATE_REGISTRATION_TOKEN: REGISTRATION,
      SLATE_SEED_FILE: join(repoRoot, 'examples/quickstart/seed.yaml'),
      SLATE_DATA_DIR: join(work, 'metadata'),
      SLATE_OBJECTS_DIR: join(work, 'objects'),
      PORT: String(apiPort),
      SLATE_METRICS_PORT: String(mpMetrics),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    },
    work,
  );
  // A fresh embedded metadata plane (PGlite, migrations, seed) takes ~16 s of CPU: at a load average of 20–30
  // on 2 cores that is minutes of wall time, so it gets longer than the default 2 minutes.
  await waitHealthy(metadataPlane, `${apiServer}/healthz`, 600_000);
  // The chart's default layout (`layout: split`): the query server is its own process (the one measured);
  // the persistence role, which drains every query's result message from the bus, runs beside it.
  const dataPlaneEnv = (role: string, port: number, metricsPort: number) => ({
    SLATE_ROLE: role,
    SLATE_INSTANCE_ID: `bench-${role}`,
    SLATE_METADATA_PLANE_URL: apiServer,
    SLATE_REGISTRATION_TOKEN: REGISTRATION,
    SLATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SLATE_DATA_PLANE_NAME: 'bench',
    SLATE_DATA_PLANE_KEY_FILE: keyFile,
    SLATE_STATE_DIR: join(work, `data-plane-${role}`),
    SLATE_OBJECTS_DIR: join(work, 'objects'),
    SLATE_WORKERS: String(options.workers),
    REDIS_URL: redisUrl,
    PORT: String(port),
    SLATE_METRICS_PORT: String(metricsPort),
    SLATE_GRPC_PORT: 'off',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });
  const dataPlane = startProcess(
    process.execPath,
    [...options.nodeArgs, join(repoRoot, 'dist/data-plane/main.js')],
    // SLATE_BENCH_QUERY_PROCESSES: query servers behind the one port (the data plane's SLATE_QUERY_PROCESSES).
    {
      ...dataPlaneEnv('query', dpPort!, dpMetrics!),
      SLATE_QUERY_PROCESSES: process.env.SLATE_BENCH_QUERY_PROCESSES ?? '1',
    },
    work,
  );
  await waitHealthy(dataPlane, `${dataPlaneUrl}/healthz`);
  const persistence = startProcess(
    process.execPath,
    [join(repoRoot, 'dist/data-plane/main.js')],
    dataPlaneEnv('persistence', persistencePort!, persistenceMetrics!),
    work,
  );
  // No query server in its roles: it answers on its metrics listener once started.
  await waitHealthy(persistence, `http://127.0.0.1:${persistenceMetrics}/metrics`);
  const token = await serviceToken(apiServer);
  await deploy(apiServer, token);

  const { artifact } = collectGraph(repo);
  const cachedFeatures = artifact.namespaces
    .find((ns) => ns.name === 'cached_entity')!
    .features.filter((f) => f.name !== 'id')
    .map((f) => f.fqn);
  const liveFeatures = cachedFeatures.map((fqn) => fqn.replace('cached_entity.', 'live_entity.'));
  // Precompute every cached feature for the entities the shapes ask for, as a persistence job would.
  const store = createRedisOnlineStore({ url: redisUrl, keyPrefix: 'slate' });
  await store.init();
  const observedAt = Date.now();
  await store.set(
    ENVIRONMENT,
    [ENTITY, ...BULK_IDS].flatMap((id) =>
      cachedFeatures.map((feature, n) => ({ feature, pkey: id, value: id * 0.5 + n, observedAt })),
    ),
  );
  await store.close();

  const limit = startProcess(process.execPath, [limitFile], {
    LIMIT_CONFIG: JSON.stringify({
      port: limitPort,
      redisUrl,
      keys: cachedFeatures.map((fqn) => `slate:${ENVIRONMENT}:${fqn}:${ENTITY}`),
      features: cachedFeatures,
      pkey: ENTITY,
    }),
    NODE_ENV: 'production',
  });
  const limitUrl = `http://127.0.0.1:${limitPort}`;
  await waitHealthy(limit, `${limitUrl}/healthz`);
  return {
    work,
    apiServer,
    dataPlaneUrl,
    dataPlane,
    persistence,
    metadataPlane,
    limitUrl,
    limit,
    dataPlaneMetrics: `http://127.0.0.1:${dpMetrics}/metrics`,
    token,
    cachedFeatures,
    liveFeatures,
  };
}

/** `slate up` from the compiled CLI on its embedded defaults, serving a copy of the quickstart. */
export async function startSlateUp(): Promise<{ up: Started; dataPlaneUrl: string; token: string }> {
  const work = mkdtempSync(join(tmpdir(), 'slate-bench-up-'));
  const project = join(work, 'quickstart');
  cpSync(join(repoRoot, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
  const [apiPort, dpPort] = [await freePort(), await freePort()];
  const up = startProcess(
    process.execPath,
    [
      join(repoRoot, 'dist/cli/slate.js'),
      'up',
      '--project',
      project,
      '--state-dir',
      join(work, 'state'),
      '--port',
      String(apiPort),
      '--data-plane-port',
      String(dpPort),
      // No gRPC: this run does not use it, and its default ports (4002, 4003) may be taken.
      '--data-plane-grpc-port',
      'off',
    ],
    { FORCE_COLOR: '0' },
    work,
  );
  const deadline = Date.now() + 180_000;
  while (!up.output().includes('Press Ctrl-C to stop')) {
    if (up.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`slate up did not start:\n${up.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const credentials = JSON.parse(readFileSync(join(work, 'state/credentials.json'), 'utf8')) as {
    client_id: string;
    client_secret: string;
  };
  const token = await exchange(
    `http://127.0.0.1:${apiPort}`,
    credentials.client_id,
    credentials.client_secret,
  );
  return { up, dataPlaneUrl: `http://127.0.0.1:${dpPort}`, token };
}
