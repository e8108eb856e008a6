/**
 * Crash tests on the production shape (issue 11): a metadata plane on PostgreSQL, a query data plane
 * (`SLATE_ROLE=query`) and a separate persistence data plane (`SLATE_ROLE=persistence`), both on a private
 * Redis with an append-only file (bus and online store) and Parquet in a shared objects folder. A stream of
 * uploads goes through the query role over HTTP (`POST /v1/upload/single`, the bus feature writer) while
 * (1) the persistence process is SIGKILLed and restarted three times, then (2) the private Redis is
 * SIGKILLed and restarted. The uploader retries every upload not answered 200. Counted afterwards,
 * independently of the data plane: every acknowledged value once online (Redis) and once offline (Parquet).
 *
 * Run: `npx vitest run e2e/persistence-crash.e2e.test.ts` (prints the figures).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLocalObjectStore, createParquetOfflineStore, createRedisOnlineStore } from '@slate/stores';
import {
  freePort,
  type OwnRedisServer,
  redisServerUnavailable,
  requireService,
  startRedisServer,
  testServices,
  unlessCi,
} from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  createProcessGroup,
  createServiceToken,
  type OwnDatabase,
  repoRoot as repo,
  type StartedProcess,
  signIn,
  until,
} from './support/index.ts';

const services =
  (await requireService('PostgreSQL', testServices.postgresUrl)) &&
  unlessCi(redisServerUnavailable()) === undefined;
const databaseName = `test_crash_${Date.now().toString(36)}`;
let database: OwnDatabase | undefined;
const work = mkdtempSync(join(tmpdir(), 'slate-crash-'));
const objectsDir = join(work, 'objects');
const registrationToken = 'a-registration-token-for-the-crash-test';
const PERSISTENCE_KILLS = 3;
const UPLOADERS = 4;
// The sources run through tsx with this process's environment, as a developer runs them.
const group = createProcessGroup({ cwd: work, env: { ...(process.env as Record<string, string>) } });
let redis: OwnRedisServer;
let apiServer: string;
let cookie: string;

function startApp(app: string, env: Record<string, string>): StartedProcess {
  return group.startApp(env.SLATE_INSTANCE_ID ?? app, app, { LOG_LEVEL: 'warn', ...env }, 'sources');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dataPlaneEnv = (instance: string, role: string, port: number, metricsPort: number) => ({
  SLATE_METADATA_PLANE_URL: apiServer,
  SLATE_REGISTRATION_TOKEN: registrationToken,
  SLATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
  SLATE_DATA_PLANE_NAME: 'crash',
  SLATE_INSTANCE_ID: instance,
  SLATE_ROLE: role,
  SLATE_DATA_PLANE_KEY_FILE: join(work, 'group.jwk'),
  SLATE_STATE_DIR: join(work, instance),
  SLATE_OBJECTS_DIR: objectsDir,
  SLATE_GRPC_PORT: 'off',
  SLATE_METRICS_PORT: String(metricsPort),
  REDIS_URL: redis.url,
  PORT: String(port),
  HOST: '127.0.0.1',
});

beforeAll(async () => {
  if (!services) return;
  redis = await startRedisServer({ appendOnly: true });
  writeFileSync(
    join(work, 'group.jwk'),
    JSON.stringify(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })),
    { mode: 0o600 },
  );
  database = await createDatabase(testServices.postgresUrl, databaseName);
  const apiPort = await freePort();
  apiServer = `http://127.0.0.1:${apiPort}`;
  const metadata = startApp('metadata-plane', {
    DATABASE_URL: database.url,
    SLATE_API_SERVER: apiServer,
    SLATE_REGISTRATION_TOKEN: registrationToken,
    SLATE_MODE: 'embedded',
    SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
    SLATE_OBJECTS_DIR: objectsDir,
    SLATE_METRICS_PORT: String(await freePort()),
    PORT: String(apiPort),
    HOST: '127.0.0.1',
  });
  await group.waitUntilHealthy(metadata, `${apiServer}/healthz`);
  cookie = await signIn(apiServer);
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await redis?.stop();
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

/** The value uploaded for user `i`: distinct per user, so a value in the wrong place shows. */
const scoreOf = (i: number) => i * 7 + 0.5;

describe.skipIf(!services)('persistence crashes on the production shape', () => {
  it('loses and duplicates no acknowledged upload across persistence SIGKILLs and a Redis restart', async () => {
    const { client_id, client_secret } = await createServiceToken(apiServer, cookie, {
      name: 'ci',
      permissions: ['query.online', 'deploy.create', 'deploy.read'],
    });
    const queryPort = await freePort();
    const query = startApp('data-plane', dataPlaneEnv('crash-query', 'query', queryPort, await freePort()));
    const persistencePorts = [await freePort(), await freePort()] as const;
    const startPersistence = () =>
      startApp('data-plane', dataPlaneEnv('crash-persistence', 'persistence', ...persistencePorts));
    let persistence = startPersistence();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(repo, 'packages/cli/bin/slate.js'),
        'apply',
        '--dir',
        join(repo, 'examples/quickstart'),
        '--json',
      ],
      {
        cwd: work,
        env: {
          ...process.env,
          SLATE_API_SERVER: apiServer,
          SLATE_CLIENT_ID: client_id,
          SLATE_CLIENT_SECRET: client_secret,
        },
      },
    );
    const deployment = (JSON.parse(stdout) as { deployment: { id: string } }).deployment.id;
    const token = await fetch(`${apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id, client_secret, grant_type: 'client_credentials' }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);

    const upload = (i: number) =>
      fetch(`http://127.0.0.1:${queryPort}/v1/upload/single`, {
        method: 'POST',
        // The same key on every retry: an upload refused (503) yet stored is then not stored twice offline.
        headers: {
          authorization: `Bearer ${token.access_token}`,
          'content-type': 'application/json',
          'idempotency-key': `crash-upload-${i}`,
        },
        body: JSON.stringify({ inputs: { 'user.id': i, 'user.risk_score': scoreOf(i) } }),
        signal: AbortSignal.timeout(30_000),
      });
    await until(
      async () => ((await upload(-1)).ok ? true : undefined),
      () => `the query data plane serving ${deployment}:\n${query.output()}`,
    );

    const online = createRedisOnlineStore({ url: redis.url });
    await online.init();
    /** Users whose value is in the online store (any value: checked exactly at the end). */
    const countOnline = async (upTo: number) => {
      const values = await online.get(
        'dev',
        Array.from({ length: upTo }, (_, i) => ({ feature: 'user.risk_score', pkey: String(i) })),
      );
      return values.filter((v) => v !== null).length;
    };
    const objectStore = createLocalObjectStore({ root: objectsDir });
    await objectStore.init();
    const offline = createParquetOfflineStore({ objectStore, threads: 1 });
    await offline.init();
    const offlineRows = async () =>
      (await offline.scan('dev', { features: ['user.risk_score'] })).filter((r) => Number(r.pkey) >= 0);
    /**
     * Users with a row in the offline store: the persistence process's progress. (The query role writes the
     * online store itself before acknowledging, so the online store no longer shows it.)
     */
    const countOffline = async () => new Set((await offlineRows()).map((r) => r.pkey)).size;

    // The stream: UPLOADERS loops take the next user and upload until answered 200, retrying anything else.
    const stream = { next: 0, acknowledged: 0, retries: 0, refusals: new Map<string, number>(), stop: false };
    let lastAckAt = Date.now();
    const uploader = async () => {
      while (!stream.stop) {
        const i = stream.next++;
        for (let attempt = 0; ; attempt++) {
          const outcome = await upload(i).then(
            async (r) =>
              r.ok
                ? 'ok'
                : `${r.status} ${((await r.json()) as { code?: string }).code} retry-after ${r.headers.get('retry-after')}`,
            (error: Error) => `network ${error.name}`,
          );
          if (outcome === 'ok') break;
          stream.retries++;
          stream.refusals.set(outcome, (stream.refusals.get(outcome) ?? 0) + 1);
          await sleep(Math.min(2_000, 100 * 2 ** attempt));
        }
        stream.acknowledged++;
        lastAckAt = Date.now();
      }
    };
    const uploaders = Array.from({ length: UPLOADERS }, uploader);
    const figures: Record<string, number | string> = {};
    try {
      // (1) SIGKILL the persistence process while it writes, restart it, and measure how long until the
      // offline store catches up with what was acknowledged before the kill.
      const catchUpMs: number[] = [];
      for (let kill = 0; kill < PERSISTENCE_KILLS; kill++) {
        const before = await countOffline();
        await until(
          async () => ((await countOffline()) > before + 50 ? true : undefined),
          () => `the persistence process writing:\n${persistence.output()}`,
        );
        persistence.child.kill('SIGKILL');
        await persistence.exited;
        const sentAtKill = stream.acknowledged;
        await sleep(1_000);
        const restarted = Date.now();
        persistence = startPersistence();
        await until(
          async () => ((await countOffline()) >= sentAtKill ? true : undefined),
          () => `the restarted persistence process catching up:\n${persistence.output()}`,
        );
        catchUpMs.push(Date.now() - restarted);
      }
      figures['persistence SIGKILLs'] = PERSISTENCE_KILLS;
      figures['catch-up after each restart (ms)'] = catchUpMs.join(', ');

      // (2) SIGKILL the Redis that holds the bus and the online store, keep it down 2 s, restart it from
      // its append-only file; uploads during the outage are refused and retried by the uploader.
      await sleep(1_000);
      const refusedBefore = stream.retries;
      const down = Date.now();
      await redis.restart({ signal: 'SIGKILL', downMs: 2_000 });
      const up = Date.now();
      await until(
        async () => (lastAckAt > up ? true : undefined),
        () => 'an upload acknowledged after Redis restarted',
      );
      figures['Redis restarts'] = 1;
      figures['uploads accepted again after Redis is back (ms)'] = lastAckAt - up;
      figures['Redis outage (ms)'] = up - down;
      figures['refusals during the outage'] = stream.retries - refusedBefore;
      await sleep(2_000);
    } finally {
      stream.stop = true;
      await Promise.all(uploaders);
    }
    const sent = stream.next;
    const drainStart = Date.now();
    await until(
      async () => ((await countOnline(sent)) >= sent ? true : undefined),
      () => `every value online:\n${persistence.output()}`,
    );
    figures['drain after the stream stopped (ms)'] = Date.now() - drainStart;

    await until(
      async () => ((await offlineRows()).length >= sent ? true : undefined),
      () => `every value offline:\n${persistence.output()}`,
    );
    // Twice the bus's redelivery idle time more, for a late duplicate to show up.
    await sleep(5_000);
    const rows = await offlineRows();
    const values = await online.get(
      'dev',
      Array.from({ length: sent }, (_, i) => ({ feature: 'user.risk_score', pkey: String(i) })),
    );
    await Promise.all([online.close(), offline.close()]);

    const perUser = new Map<number, number>();
    for (const row of rows) perUser.set(Number(row.pkey), (perUser.get(Number(row.pkey)) ?? 0) + 1);
    const lostOnline = values.filter((v) => v === null).length;
    const wrongOnline = values.filter((v, i) => v !== null && v.value !== scoreOf(i)).length;
    const lostOffline = Array.from({ length: sent }, (_, i) => i).filter((i) => !perUser.has(i)).length;
    const duplicatedOffline = [...perUser.values()].reduce((sum, n) => sum + (n - 1), 0);
    // Which upload a duplicate came from: the same operation twice (a redelivery written again) or two
    // operations (an upload refused to the client yet stored, then retried).
    const duplicates = rows
      .filter((r) => (perUser.get(Number(r.pkey)) ?? 0) > 1)
      .map((r) => `${r.pkey}:${r.queryId}:${r.observationId}`);
    Object.assign(figures, {
      'values sent (acknowledged)': sent,
      'upload retries': stream.retries,
      refusals: JSON.stringify(Object.fromEntries(stream.refusals)),
      'lost online': lostOnline,
      'wrong online': wrongOnline,
      'lost offline': lostOffline,
      'duplicated offline': duplicatedOffline,
      'duplicated rows': duplicates.join(' ') || 'none',
    });
    console.log(
      `crash test figures:\n${Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    );
    expect(stream.acknowledged).toBe(sent);
    // Uploads while Redis was down were refused with a clear, retryable answer (a 500 before the fix).
    expect(figures['refusals during the outage']).toBeGreaterThan(0);
    expect([...stream.refusals.keys()]).toEqual(['503 RESULT_BUS_UNAVAILABLE retry-after 1']);
    expect({ lostOnline, wrongOnline, lostOffline, duplicatedOffline }).toEqual({
      lostOnline: 0,
      wrongOnline: 0,
      lostOffline: 0,
      duplicatedOffline: 0,
    });
    expect(rows.every((r) => Number(r.value) === scoreOf(Number(r.pkey)))).toBe(true);
  }, 600_000);
});
