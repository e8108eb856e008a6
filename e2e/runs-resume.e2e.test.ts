/**
 * A triggered resolver run survives the replica running it: one data plane as two processes
 * (`apps/data-plane/src/main.ts`, `query,jobs` and `query,jobs,persistence`) against a metadata-plane
 * process on PostgreSQL (whose `data_plane_leases` hold the run's lease), a private Redis (result bus and
 * online store) and shared object storage. A SQL resolver reads a PostgreSQL table slowly; the replica that
 * accepted the run is SIGKILLed mid-run; the other takes it over and finishes it. The values are counted in
 * Redis and in the Parquet offline store against the rows this test inserted: each once.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalObjectStore,
  createOnlineStore,
  createParquetOfflineStore,
  onlineStoreConfigFromEnv,
} from '@slate/stores';
import {
  freePort,
  type OwnRedisServer,
  redisServerUnavailable,
  requireService,
  startRedisServer,
  testServices,
  unlessCi,
} from '@slate/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessToken,
  createDatabase,
  createProcessGroup,
  createServiceToken,
  type OwnDatabase,
  repoRoot as repo,
  runCli,
  signIn,
  until,
} from './support/index.ts';

const services =
  (await requireService('PostgreSQL', testServices.postgresUrl)) &&
  unlessCi(redisServerUnavailable()) === undefined;
const database = `test_runs_resume_${Date.now().toString(36)}_${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'slate-runs-resume-'));
const registrationToken = 'a-registration-token-for-the-runs-resume-test';
/** Members in the source table; the resolver's query sleeps per row, so a scan takes a few seconds. */
const ROWS = 1_500;
const group = createProcessGroup({
  cwd: work,
  env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'warn' },
});
const startApp = (app: string, env: Record<string, string>) => group.startApp(app, app, env, 'sources');
let redis: OwnRedisServer;
let apiServer: string;
let db: OwnDatabase | undefined;
let databaseUrl: string;

async function sql(text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (!services) return;
  redis = await startRedisServer();
  db = await createDatabase(testServices.postgresUrl, database);
  databaseUrl = db.url;
  await sql(
    'create table members (id int primary key, full_name text, score double precision, updated_at timestamptz)',
  );
  await sql(
    `insert into members select i, 'Member ' || i, i / 10.0, timestamptz '2026-01-01' + make_interval(mins => i)
     from generate_series(1, ${ROWS}) as i`,
  );
  // The feature repository: one namespace and a SQL resolver over the table, slowed down per row.
  const project = join(work, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(
    join(project, 'slate.yaml'),
    [
      'project: quickstart',
      'entry: src/index.ts',
      'data_sources:',
      `  - { name: app, type: postgres, url: "${databaseUrl}" }`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(project, 'src/index.ts'),
    [
      "import { datetime, features, float, int, sqlResolver, string } from '@slate/sdk';",
      "export const Member = features('member', {",
      '  id: int(),',
      "  full_name: string().maxStaleness('1h').etlOfflineToOnline(),",
      '  score: float(),',
      '  updated_at: datetime().featureTime(),',
      '});',
      'export const members_slow = sqlResolver({',
      "  source: 'app',",
      '  resolves: Member,',
      "  kind: 'offline',",
      "  query: 'select id, full_name, score, updated_at from members where pg_sleep(0.004) is not null',",
      '});',
      '',
    ].join('\n'),
  );
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const apiPort = await freePort();
  apiServer = `http://127.0.0.1:${apiPort}`;
  const metadata = startApp('metadata-plane', {
    DATABASE_URL: databaseUrl,
    SLATE_API_SERVER: apiServer,
    SLATE_REGISTRATION_TOKEN: registrationToken,
    SLATE_MODE: 'embedded',
    SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
    SLATE_METRICS_PORT: '0',
    SLATE_METADATA_GRPC_PORT: 'off',
    PORT: String(apiPort),
    HOST: '127.0.0.1',
  });
  await until(
    async () => ((await fetch(`${apiServer}/healthz`)).ok ? true : undefined),
    () => `the metadata plane:\n${metadata.output()}`,
  );
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await redis?.stop();
  await db?.drop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!services)('a run whose replica is SIGKILLed is finished by another replica', () => {
  it('finishes it exactly once: every member once in Redis and in Parquet, the take-over in its record', async () => {
    const serviceToken = await createServiceToken(apiServer, await signIn(apiServer), {
      name: 'ci',
      permissions: ['query.online', 'deploy.create', 'deploy.read', 'cron.create', 'cron.read'],
    });

    const keyFile = join(work, 'group-key.jwk');
    writeFileSync(
      keyFile,
      JSON.stringify(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })),
      {
        mode: 0o600,
      },
    );
    const ports = [await freePort(), await freePort()];
    const replica = (instance: string, role: string, port: number) =>
      startApp('data-plane', {
        SLATE_METADATA_PLANE_URL: apiServer,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        SLATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        SLATE_DATA_PLANE_NAME: 'east',
        SLATE_INSTANCE_ID: instance,
        SLATE_ROLE: role,
        SLATE_DATA_PLANE_KEY_FILE: keyFile,
        SLATE_STATE_DIR: join(work, instance),
        REDIS_URL: redis.url,
        SLATE_DATA_SOURCES: JSON.stringify([{ name: 'app', type: 'postgres', url: databaseUrl }]),
        // Heartbeats (checkpoints) less often than pages: a dies with batches published past its checkpoint.
        SLATE_RUN_HEARTBEAT_MS: '1000',
        SLATE_RUN_STALE_AFTER_MS: '3000',
        // Pages of 100 rows: replica a has published some batches (and checkpointed some) when it dies.
        SLATE_RUN_CHUNK_SIZE: '100',
        SLATE_METRICS_PORT: '0',
        SLATE_GRPC_PORT: 'off',
        PORT: String(port),
        HOST: '127.0.0.1',
      });
    // Replica a runs no persistence: what it published is written by b's worker (or redelivered to it).
    const a = replica('east-a', 'query,jobs', ports[0]!);
    const b = replica('east-b', 'query,jobs,persistence', ports[1]!);
    for (const [port, started] of [
      [ports[0]!, a],
      [ports[1]!, b],
    ] as const)
      await until(
        async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined),
        () => `replica on ${port}:\n${started.output()}`,
      );

    const { stdout } = await runCli(['apply', '--dir', join(work, 'project'), '--json'], {
      cwd: work,
      env: {
        ...(process.env as Record<string, string>),
        SLATE_API_SERVER: apiServer,
        SLATE_CLIENT_ID: serviceToken.client_id,
        SLATE_CLIENT_SECRET: serviceToken.client_secret,
      },
    });
    const deployment = (JSON.parse(stdout) as { deployment: { id: string } }).deployment.id;
    const headers = {
      authorization: `Bearer ${await accessToken(apiServer, serviceToken)}`,
      'content-type': 'application/json',
    };
    const runAt = async (port: number, id: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/runs/${id}`, { headers });
      return response.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
    };
    // Both replicas serve the deployment (a take-over needs it loaded).
    for (const port of ports)
      await until(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/v1/runs/trigger`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ resolver_fqn: 'nope' }),
        });
        return (await response.text()).includes('RESOLVER_NOT_FOUND') ? true : undefined;
      }, `deployment ${deployment} served on ${port}`);

    const triggered = await fetch(`http://127.0.0.1:${ports[0]}/v1/runs/trigger`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resolver_fqn: 'members_slow' }),
    });
    expect(triggered.status).toBeLessThan(300);
    const { id, environment_id } = (await triggered.json()) as { id: string; environment_id: string };
    await until(async () => {
      const run = await runAt(ports[0]!, id);
      return run?.status === 'running' ? run : undefined;
    }, 'the run running on replica a');
    // Mid-scan (~0.4 s a page of 100, 15 pages), once a's heartbeat has recorded a checkpoint.
    await until(async () => {
      const run = await runAt(ports[0]!, id);
      return typeof run?.chunks === 'number' && run.chunks >= 2 ? run : undefined;
    }, 'a checkpoint of replica a');
    // Then a page or two more, published but not yet checkpointed, before it dies.
    await new Promise((resolve) => setTimeout(resolve, 700));
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');
    const before = (await runAt(ports[1]!, id))!;
    expect(before).toMatchObject({ status: 'running', attempt: 1, instance: 'east-a' });
    expect(before.chunks).toBeLessThan(ROWS / 100); // a died before the end

    const done = await until(
      async () => {
        const run = await runAt(ports[1]!, id);
        return run && run.status !== 'running' && run.status !== 'received' ? run : undefined;
      },
      () => `the run finished by replica b:\n${b.output().slice(-3000)}`,
      { timeoutMs: 120_000 },
    );
    expect(done).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      instance: 'east-b',
      rows: ROWS,
      values: ROWS * 3,
      error: null,
    });
    const lease = await sql('select holder, generation from data_plane_leases where key = $1', [
      `run:${environment_id}/${id}`,
    ]);
    expect(lease.rows).toEqual([{ holder: 'east-b', generation: 2 }]);

    // Counted in the stores, against the table: every member once online (Redis) and offline (Parquet).
    const online = createOnlineStore(onlineStoreConfigFromEnv({ REDIS_URL: redis.url }));
    await online.init();
    const names = await until(async () => {
      const values = await online.get(
        environment_id,
        Array.from({ length: ROWS }, (_, i) => ({ feature: 'member.full_name', pkey: String(i + 1) })),
      );
      return values.every((v) => v !== null) ? values : undefined;
    }, 'every name online');
    await online.close();
    expect(names.map((v) => v?.value)).toEqual(Array.from({ length: ROWS }, (_, i) => `Member ${i + 1}`));
    const objects = createLocalObjectStore({ root: join(work, '.slate/objects') });
    await objects.init();
    const offline = createParquetOfflineStore({ objectStore: objects, threads: 1 });
    await offline.init();
    const counts = async (feature: string) => {
      const byKey = new Map<string, number>();
      for (const o of await offline.scan(environment_id, { features: [feature] }))
        if (o.resolver === 'members_slow') byKey.set(o.pkey, (byKey.get(o.pkey) ?? 0) + 1);
      return byKey;
    };
    await until(
      async () => ((await counts('member.score')).size === ROWS ? true : undefined),
      'every score offline',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // anything late would be a duplicate
    for (const feature of ['member.full_name', 'member.score']) {
      const byKey = await counts(feature);
      expect(byKey.size).toBe(ROWS);
      expect([...byKey.values()].every((n) => n === 1)).toBe(true);
    }
    await offline.close();
  }, 300_000);
});
