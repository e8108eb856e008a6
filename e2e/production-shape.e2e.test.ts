/**
 * The production shape: the metadata plane and a data plane as separate processes, started from their own
 * `src/main.ts` with environment variables only, on the machine's PostgreSQL and Redis and an S3 server
 * (s3rver). A user signs in, creates a service token, deploys the quickstart with the CLI, and queries it.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort, requireService, testServices } from '@slate/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  createProcessGroup,
  createServiceToken,
  type OwnDatabase,
  type OwnS3Server,
  repoRoot as repo,
  signIn,
  startS3Server,
} from './support/index.ts';

const services =
  (await requireService('PostgreSQL', testServices.postgresUrl)) &&
  (await requireService('Redis', testServices.redisUrl));
const run = `e2e${Date.now().toString(36)}`;
const work = mkdtempSync(join(tmpdir(), 'slate-prod-'));
const registrationToken = 'a-registration-token-for-this-test-only';
// The sources run through tsx with this process's environment, as a developer runs them.
const group = createProcessGroup({ cwd: work, env: { ...(process.env as Record<string, string>) } });
let s3: OwnS3Server | undefined;
let database: OwnDatabase | undefined;
let apiServer: string;
let dataPlaneUrl: string;
let s3Endpoint: string;

/** Starts one of the apps' `main.ts` and resolves when its health probe answers. */
async function startApp(app: string, env: Record<string, string>, healthUrl: string): Promise<void> {
  const started = group.startApp(
    app,
    app,
    {
      LOG_LEVEL: 'warn',
      ...s3!.env,
      // Both planes default to 9464 for /metrics; on one host each needs its own.
      SLATE_METRICS_PORT: String(await freePort()),
      SLATE_GRPC_PORT: 'off',
      ...env,
    },
    'sources',
  );
  await group.waitUntilHealthy(started, healthUrl, 60_000);
}

beforeAll(async () => {
  if (!services) return;
  database = await createDatabase(testServices.postgresUrl, run);
  s3 = await startS3Server(join(work, 's3'), run);
  s3Endpoint = s3.endpoint;

  const apiPort = await freePort();
  const dataPlanePort = await freePort();
  apiServer = `http://127.0.0.1:${apiPort}`;
  dataPlaneUrl = `http://127.0.0.1:${dataPlanePort}`;
  await startApp(
    'metadata-plane',
    {
      DATABASE_URL: database.url,
      SLATE_API_SERVER: apiServer,
      SLATE_REGISTRATION_TOKEN: registrationToken,
      SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // Embedded mode only enables the password-less login this test signs in with; all else is production.
      SLATE_MODE: 'embedded',
      SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
      PORT: String(apiPort),
      HOST: '127.0.0.1',
    },
    `${apiServer}/healthz`,
  );
  await startApp(
    'data-plane',
    {
      SLATE_METADATA_PLANE_URL: apiServer,
      SLATE_REGISTRATION_TOKEN: registrationToken,
      SLATE_PUBLIC_URL: dataPlaneUrl,
      SLATE_DATA_PLANE_NAME: 'prod-shape',
      SLATE_STATE_DIR: join(work, 'data-plane'),
      REDIS_URL: testServices.redisUrl,
      SLATE_REDIS_KEY_PREFIX: run,
      SLATE_USAGE_REPORT_INTERVAL_MS: '300',
      PORT: String(dataPlanePort),
      HOST: '127.0.0.1',
    },
    `${dataPlaneUrl}/healthz`,
  );
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await s3?.close();
  await database?.drop();
  if (services) {
    const redis = new Redis(testServices.redisUrl);
    const keys = await redis.keys(`${run}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!services)('separate planes on PostgreSQL, Redis and S3', () => {
  let clientId: string;
  let clientSecret: string;
  let cookie: string;

  it('lets the seeded owner sign in and create a service token', async () => {
    cookie = await signIn(apiServer);
    ({ client_id: clientId, client_secret: clientSecret } = await createServiceToken(apiServer, cookie, {
      name: 'ci',
      permissions: ['query.online', 'query.offline', 'deploy.create', 'deploy.read'],
    }));
    expect(clientSecret).toBeTruthy();
  });

  it('deploys with the CLI and serves queries from the separate data plane', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(repo, 'packages/cli/bin/slate.js'), 'apply', '--dir', join(repo, 'examples/quickstart')],
      {
        cwd: work,
        env: {
          ...process.env,
          SLATE_API_SERVER: apiServer,
          SLATE_CLIENT_ID: clientId,
          SLATE_CLIENT_SECRET: clientSecret,
        },
      },
    );
    expect(stdout).toMatch(/SUCCESS/);

    const token = await fetch(`${apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    }).then((r) => r.json() as Promise<{ access_token: string; engines: Record<string, string> }>);
    expect(token.engines).toEqual({ dev: dataPlaneUrl });
    const response = await fetch(`${token.engines.dev}/v1/query/online`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { 'user.id': 3 }, outputs: ['user.name', 'user.total_spend'] }),
    });
    const body = (await response.json()) as { data: { field: string; value: unknown }[]; errors: unknown[] };
    expect(body.errors).toEqual([]);
    // Alan Turing's four transactions: 999.99 + 450 + 320.5 + 610.
    expect(body.data.map((d) => [d.field, d.value])).toEqual([
      ['user.name', 'Alan Turing'],
      ['user.total_spend', 2380.49],
    ]);
  });

  it('meters the queries in the metadata plane’s usage, per environment and hour', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const usage = async () => {
      const response = await fetch(`${apiServer}/v1/environments/dev/usage?from=${from}&to=${to}`, {
        headers: { cookie },
      });
      return ((await response.json()) as { totals: { queries: number; rows: number } }).totals;
    };
    // The CLI's apply ran no query; the test above ran exactly one.
    await expect.poll(usage, { timeout: 15_000, interval: 300 }).toMatchObject({ queries: 1, rows: 1 });
  });

  it('shows an offline query’s progress in the metadata plane, reported over the batch-status queue', async () => {
    const token = await fetch(`${apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        grant_type: 'client_credentials',
      }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const submitted = await fetch(`${dataPlaneUrl}/v4/offline_query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        input: { columns: ['user.id'], values: [[1, 2]] },
        output: ['user.name'],
        dataset_name: 'e2e-names',
      }),
    });
    expect(submitted.status).toBe(200);
    const revision = ((await submitted.json()) as { revisions: { revision_id: string }[] }).revisions[0]!
      .revision_id;
    const job = async () => {
      const response = await fetch(`${apiServer}/v1/environments/dev/jobs`, { headers: { cookie } });
      const { items } = (await response.json()) as {
        items: { id: string; status: string; kind: string; name: string }[];
      };
      return items.find((item) => item.id === revision);
    };
    await expect
      .poll(job, { timeout: 20_000, interval: 300 })
      .toMatchObject({ kind: 'OFFLINE_QUERY', name: 'e2e-names', status: 'SUCCEEDED' });
    // Its final report came over the batch-report queue: what the data plane's own revision says it wrote.
    const written = await fetch(`${dataPlaneUrl}/v2/offline_query/${revision}`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    }).then((r) => r.json() as Promise<{ urls: string[]; columns: { column_name: string }[] }>);
    const report = async () => {
      const response = await fetch(`${apiServer}/v1/environments/dev/jobs/${revision}`, {
        headers: { cookie },
      });
      return ((await response.json()) as { report: Record<string, unknown> | null }).report;
    };
    await expect.poll(report, { timeout: 20_000, interval: 300 }).toMatchObject({
      operation_id: revision,
      kind: 'OFFLINE_QUERY',
      status: 'SUCCEEDED',
      rows: 2,
      columns: written.columns.map((c) => expect.objectContaining({ name: c.column_name })),
      output: expect.objectContaining({ dataset_name: 'e2e-names', revision_id: revision }),
      errors: [],
    });
    const final = (await report())!;
    expect((final.output as { keys: string[] }).keys).toHaveLength(written.urls.length);
    expect(final.bytes_written).toBeGreaterThan(0);
  });

  it('keeps the deployment bundle content-addressed in the S3 source bucket', async () => {
    const client = new S3Client({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: `${run}-source`, Prefix: 'env/dev/bundles/' }),
    );
    client.destroy();
    expect(listed.Contents?.map((object) => object.Key)).toEqual([
      expect.stringMatching(/^env\/dev\/bundles\/[0-9a-f]{64}\.mjs$/),
    ]);
  });
});
