/**
 * One data plane as three processes (`SLATE_ROLE` split: query+jobs, query+streaming, persistence), started
 * from `apps/data-plane/src/main.ts` with environment variables only and one group key file, against a
 * metadata-plane process on PostgreSQL and a private Redis. Each instance registers as itself without
 * locking its peers out, and the metadata plane shows each one's health; a fourth process with another
 * key is refused while they are alive.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  type OwnDatabase,
  repoRoot as repo,
  type StartedProcess,
  signIn,
  until,
} from './support/index.ts';

const services =
  (await requireService('PostgreSQL', testServices.postgresUrl)) &&
  unlessCi(redisServerUnavailable()) === undefined;
const databaseName = `test_replicas_${Date.now().toString(36)}`;
let database: OwnDatabase | undefined;
const work = mkdtempSync(join(tmpdir(), 'slate-replicas-'));
const registrationToken = 'a-registration-token-for-the-replicas-test';
// The sources run through tsx with this process's environment, as a developer runs them.
const group = createProcessGroup({ cwd: work, env: { ...(process.env as Record<string, string>) } });
let redis: OwnRedisServer;
let apiServer: string;
let cookie: string;
const queryPorts: number[] = [];

function startApp(app: string, env: Record<string, string>): StartedProcess {
  return group.startApp(env.SLATE_INSTANCE_ID ?? app, app, { LOG_LEVEL: 'warn', ...env }, 'sources');
}

/** `until` with every process's output in the failure message. */
const wait = <T>(what: () => Promise<T | undefined>, label: string, ms = 60_000) =>
  until(what, label, { timeoutMs: ms, context: () => group.tails() });

const keyFile = (name: string) => {
  const path = join(work, `${name}.jwk`);
  writeFileSync(path, JSON.stringify(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })), {
    mode: 0o600,
  });
  return path;
};

const dataPlaneEnv = (instance: string, role: string, port: number, key: string) => ({
  SLATE_METADATA_PLANE_URL: apiServer,
  SLATE_REGISTRATION_TOKEN: registrationToken,
  SLATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
  SLATE_DATA_PLANE_NAME: 'east',
  SLATE_INSTANCE_ID: instance,
  SLATE_ROLE: role,
  SLATE_VERSION: '9.9.9-test',
  SLATE_DATA_PLANE_KEY_FILE: key,
  SLATE_STATE_DIR: join(work, instance),
  REDIS_URL: redis.url,
  // Ephemeral metrics port and no gRPC listener: the defaults (9464, 4002) would collide between the replicas.
  SLATE_METRICS_PORT: '0',
  SLATE_GRPC_PORT: 'off',
  PORT: String(port),
  HOST: '127.0.0.1',
});

interface InstanceView {
  instance_id: string;
  deployments: Record<string, string | null>;
  roles: string[];
  version: string | null;
  healthy: boolean;
  last_heartbeat_at: string | null;
  registered_at: string;
}

const instances = async (): Promise<InstanceView[]> => {
  const res = await fetch(`${apiServer}/v1/data-planes`, { headers: { cookie } });
  if (!res.ok) throw new Error(`GET /v1/data-planes: ${res.status}`);
  const body = (await res.json()) as { items: { name: string; instances: InstanceView[] }[] };
  return body.items.find((p) => p.name === 'east')?.instances ?? [];
};

beforeAll(async () => {
  if (!services) return;
  redis = await startRedisServer();
  database = await createDatabase(testServices.postgresUrl, databaseName);
  const apiPort = await freePort();
  apiServer = `http://127.0.0.1:${apiPort}`;
  const metadata = startApp('metadata-plane', {
    DATABASE_URL: database.url,
    SLATE_API_SERVER: apiServer,
    SLATE_REGISTRATION_TOKEN: registrationToken,
    SLATE_MODE: 'embedded',
    // Required since signing keys are encrypted at rest (issue 11 item 8).
    SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
    SLATE_METRICS_PORT: '0',
    PORT: String(apiPort),
    HOST: '127.0.0.1',
  });
  await group.waitUntilHealthy(metadata, `${apiServer}/healthz`, 60_000);
  cookie = await signIn(apiServer);
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await redis?.stop();
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!services)('one data plane as three processes with split roles', () => {
  let groupKey: string;

  it('registers every instance as itself and shows each healthy with its roles and version', async () => {
    groupKey = keyFile('group-key');
    queryPorts.push(await freePort(), await freePort());
    const persistencePort = await freePort();
    const started = [
      startApp('data-plane', dataPlaneEnv('east-0', 'query,jobs', queryPorts[0]!, groupKey)),
      startApp('data-plane', dataPlaneEnv('east-1', 'query,streaming', queryPorts[1]!, groupKey)),
      startApp('data-plane', dataPlaneEnv('east-2', 'persistence', persistencePort, groupKey)),
    ];
    const healthy = await wait(
      async () => {
        const list = await instances();
        return list.length === 3 && list.every((i) => i.healthy) ? list : undefined;
      },
      `three healthy instances:\n${started.map((s) => s.output()).join('\n')}`,
    );
    expect(healthy.map((i) => [i.instance_id, i.roles, i.version])).toEqual([
      ['east-0', ['query', 'jobs'], '9.9.9-test'],
      ['east-1', ['query', 'streaming'], '9.9.9-test'],
      ['east-2', ['persistence'], '9.9.9-test'],
    ]);
    for (const port of queryPorts) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).ok).toBe(true);
    // The persistence-only process starts no query server.
    await expect(fetch(`http://127.0.0.1:${persistencePort}/healthz`)).rejects.toThrow();
  }, 120_000);

  it('keeps every instance authenticated after its peers registered: each one heart-beats again later', async () => {
    const lastRegistered = Math.max(...(await instances()).map((i) => Date.parse(i.registered_at)));
    // Status reports (every long poll, ≤ 20 s) and the persistence heartbeat (20 s) carry on for all three;
    // before instances, only the last one to register could still call the metadata plane.
    const fresh = await wait(
      async () => {
        const list = await instances();
        return list.every(
          (i) => i.last_heartbeat_at && Date.parse(i.last_heartbeat_at) > lastRegistered + 1_000,
        )
          ? list
          : undefined;
      },
      'a heartbeat from every instance after the last registration',
      45_000,
    );
    expect(fresh.map((i) => i.healthy)).toEqual([true, true, true]);
  }, 60_000);

  it('switches both query replicas to a new deployment under round-robin load without a failed query', async () => {
    const created = await fetch(`${apiServer}/v1/environments/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slate-csrf': '1', cookie },
      body: JSON.stringify({ name: 'ci', permissions: ['query.online', 'deploy.create', 'deploy.read'] }),
    });
    expect(created.status).toBe(201);
    const { client_id, client_secret } = (await created.json()) as {
      client_id: string;
      client_secret: string;
    };
    const apply = async () => {
      // --force: the same sources again make a new deployment (the switch under test), not `unchanged`.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          join(repo, 'packages/cli/bin/slate.js'),
          'apply',
          '--dir',
          join(repo, 'examples/quickstart'),
          '--force',
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
      return (JSON.parse(stdout) as { deployment: { id: string } }).deployment.id;
    };
    /** Resolves once both query replicas report serving `deployment` for dev. */
    const servedEverywhere = (deployment: string) =>
      wait(async () => {
        const list = (await instances()).filter((i) => i.roles.includes('query'));
        return list.length === 2 && list.every((i) => i.deployments.dev === deployment) ? true : undefined;
      }, `both query replicas on ${deployment}`);
    const first = await apply();
    await servedEverywhere(first);
    const token = await fetch(`${apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id, client_secret, grant_type: 'client_credentials' }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    // A small front: round robin over the two query replicas, one query at a time, until told to stop.
    const outcomes = { ok: 0, failed: [] as string[] };
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const port = queryPorts[i % queryPorts.length]!;
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v1/query/online`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ inputs: { 'user.id': 3 }, outputs: ['user.name'] }),
          });
          const body = (await response.json()) as { data?: { value: unknown }[]; errors?: unknown[] };
          if (response.ok && body.errors?.length === 0 && body.data?.[0]?.value === 'Alan Turing')
            outcomes.ok++;
          else outcomes.failed.push(`${port}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
        } catch (error) {
          outcomes.failed.push(`${port}: ${(error as Error).message}`);
        }
      }
    })();
    try {
      const before = outcomes.ok;
      const second = await apply();
      expect(second).not.toBe(first);
      await servedEverywhere(second);
      const during = outcomes.ok - before;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(during).toBeGreaterThan(10);
    } finally {
      stop = true;
      await load;
    }
    expect(outcomes.failed).toEqual([]);
  }, 180_000);

  it('refuses a fourth instance holding another key while its peers are alive, and it exits saying why', async () => {
    const stranger = startApp(
      'data-plane',
      dataPlaneEnv('east-3', 'query', await freePort(), keyFile('other-key')),
    );
    expect(await stranger.exited).toBe(1);
    expect(stranger.output()).toContain('DATA_PLANE_KEY_MISMATCH');
    expect((await instances()).map((i) => i.instance_id)).toEqual(['east-0', 'east-1', 'east-2']);
  }, 60_000);
});
