/**
 * The platform the compatibility suite talks to, in its production shape: the metadata plane and a data
 * plane as separate processes from their own `src/main.ts`, configured by environment variables only (the
 * metadata plane on a fresh PostgreSQL database; the data plane with its embedded bus, in-process online
 * store, Parquet offline store in a local objects folder, its gRPC port, and the example's `shop_db` as an
 * embedded PGlite source). `examples/all-types` is deployed with `slate apply`, as a user would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, testServices } from '@slate/testing';
import pg from 'pg';

const repo = new URL('../..', import.meta.url).pathname;
export const exampleDir = join(repo, 'examples/all-types');

export interface Stack {
  readonly apiServer: string;
  readonly dataPlaneUrl: string;
  /** `host:port` of the data plane's gRPC query API. */
  readonly dataPlaneGrpc: string;
  /** `host:port` the metadata plane is asked to serve gRPC on (`SLATE_METADATA_GRPC_PORT`, wt/grpchost). */
  readonly apiGrpc: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environment: string;
  /** What `slate apply` printed. */
  readonly applyOutput: string;
  stop(): Promise<void>;
}

const registrationToken = 'a-registration-token-for-the-compatibility-suite';

/**
 * Starts both planes, creates a service token and deploys the example. A port taken between choosing it
 * and listening (other suites share the machine) gets one more try on fresh ports.
 */
export async function startStack(): Promise<Stack> {
  try {
    return await startStackOnce();
  } catch (error) {
    if (!String(error).includes('EADDRINUSE')) throw error;
    return startStackOnce();
  }
}

async function startStackOnce(): Promise<Stack> {
  const run = `compat${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const work = mkdtempSync(join(tmpdir(), 'slate-compat-'));
  const children: ChildProcess[] = [];
  const admin = new pg.Client({ connectionString: testServices.postgresUrl });
  await admin.connect();
  await admin.query(`create database ${run}`);
  await admin.end();
  const databaseUrl = new URL(testServices.postgresUrl);
  databaseUrl.pathname = `/${run}`;

  const stop = async () => {
    await Promise.all(
      children.map((child) =>
        child.exitCode === null && child.signalCode === null
          ? new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM'))
          : null,
      ),
    );
    const cleanup = new pg.Client({ connectionString: testServices.postgresUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${run} with (force)`);
    await cleanup.end();
    rmSync(work, { recursive: true, force: true });
  };

  const startApp = async (app: string, env: Record<string, string>, healthUrl: string) => {
    const inherited = { ...process.env };
    // The suite configures both planes itself: nothing ambient picks another store or bus.
    for (const name of [
      'REDIS_URL',
      'SLATE_BUS_REDIS_URL',
      'KAFKA_BROKERS',
      'DATABASE_URL',
      'SLATE_S3_BUCKET_PREFIX',
    ])
      delete inherited[name];
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx/esm'), join(repo, `apps/${app}/src/main.ts`)],
      {
        cwd: work,
        env: {
          ...inherited,
          LOG_LEVEL: 'warn',
          SLATE_METRICS_PORT: String(await freePort()),
          SLATE_OBJECTS_DIR: join(work, 'objects'),
          HOST: '127.0.0.1',
          ...env,
        },
      },
    );
    children.push(child);
    let output = '';
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.stdout!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${output}`);
      if (
        await fetch(healthUrl).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${app} did not become healthy:\n${output}`);
  };

  try {
    const [apiPort, apiGrpcPort, dpPort, dpGrpcPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const apiServer = `http://127.0.0.1:${apiPort}`;
    const dataPlaneUrl = `http://127.0.0.1:${dpPort}`;
    await startApp(
      'metadata-plane',
      {
        DATABASE_URL: databaseUrl.toString(),
        SLATE_API_SERVER: apiServer,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // Embedded mode only enables the password-less login used below to create a service token.
        SLATE_MODE: 'embedded',
        SLATE_SEED_FILE: join(exampleDir, 'seed.yaml'),
        SLATE_METADATA_GRPC_PORT: String(apiGrpcPort),
        SLATE_DATA_PLANE_GRPC_PORT: String(dpGrpcPort),
        PORT: String(apiPort),
      },
      `${apiServer}/healthz`,
    );
    await startApp(
      'data-plane',
      {
        SLATE_METADATA_PLANE_URL: apiServer,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        SLATE_PUBLIC_URL: dataPlaneUrl,
        SLATE_DATA_PLANE_NAME: 'compat',
        SLATE_STATE_DIR: join(work, 'data-plane'),
        SLATE_GRPC_PORT: String(dpGrpcPort),
        SLATE_DATA_SOURCES: JSON.stringify([
          { name: 'shop_db', type: 'pglite', initFile: join(exampleDir, 'data/shop_db.sql') },
        ]),
        PORT: String(dpPort),
      },
      `${dataPlaneUrl}/healthz`,
    );

    const login = await fetch(`${apiServer}/v1/auth/local-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slate-csrf': '1' },
      body: JSON.stringify({ email: 'owner@example.com' }),
    });
    if (login.status >= 300) throw new Error(`local login: ${login.status} ${await login.text()}`);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const created = await fetch(`${apiServer}/v1/environments/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slate-csrf': '1', cookie },
      body: JSON.stringify({
        name: 'compatibility',
        permissions: ['query.online', 'query.offline', 'deploy.create', 'deploy.read'],
      }),
    });
    if (created.status !== 201) throw new Error(`token: ${created.status} ${await created.text()}`);
    const { client_id: clientId, client_secret: clientSecret } = (await created.json()) as {
      client_id: string;
      client_secret: string;
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(repo, 'packages/cli/bin/slate.js'), 'apply', '--dir', exampleDir],
      {
        cwd: work,
        env: {
          ...process.env,
          SLATE_CLI_FROM_SOURCE: '1',
          SLATE_API_SERVER: apiServer,
          SLATE_CLIENT_ID: clientId,
          SLATE_CLIENT_SECRET: clientSecret,
        },
      },
    );
    return {
      apiServer,
      dataPlaneUrl,
      dataPlaneGrpc: `127.0.0.1:${dpGrpcPort}`,
      apiGrpc: `127.0.0.1:${apiGrpcPort}`,
      clientId,
      clientSecret,
      environment: 'dev',
      applyOutput: stdout,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
