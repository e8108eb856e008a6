/**
 * The compiled build as production runs it: `npm run build`'s output started with plain `node dist/…` (no
 * tsx registered), a metadata plane on the machine's PostgreSQL and a data plane on embedded defaults
 * (folders, the in-process online store and the embedded bus log), as separate processes. The compiled
 * CLI deploys the quickstart, queries run through the compiled resolver worker, and Prometheus scrapes
 * both planes' internal metrics listeners without a token.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDist,
  createDatabase,
  createProcessGroup,
  createServiceToken,
  GRPC_PORTS_OFF,
  type OwnDatabase,
  signIn,
} from './support/index.ts';

const repo = new URL('..', import.meta.url).pathname;
const postgres = await requireService('PostgreSQL', testServices.postgresUrl);
const databaseName = `compiled${Date.now().toString(36)}`;
let database: OwnDatabase | undefined;
const work = mkdtempSync(join(tmpdir(), 'slate-compiled-'));
const registrationToken = 'a-registration-token-for-this-test-only';
const run = promisify(execFile);

/** Only what a container would have: no NODE_OPTIONS (vitest's or tsx's loaders), no test switches. */
const baseEnv = {
  PATH: process.env.PATH ?? '',
  HOME: work,
  LOG_LEVEL: 'warn',
  SLATE_OBJECTS_DIR: join(work, 'objects'),
};

let apiServer: string;
let dataPlaneUrl: string;
let metadataMetrics: string;
let dataPlaneMetrics: string;

const group = createProcessGroup({ cwd: work, env: baseEnv });

/** Runs `node dist/<entry>` and resolves when `healthUrl` answers; rejects with its output if it exits. */
async function startCompiled(entry: string, env: Record<string, string>, healthUrl: string): Promise<void> {
  const started = group.start(entry, [join(repo, 'dist', entry)], { ...GRPC_PORTS_OFF, ...env });
  await group.waitUntilHealthy(started, healthUrl, 60_000);
}

/**
 * Every file of dist/ an entry loads, following imports of relative paths: static ones, and dynamic ones
 * too unless `staticOnly` (what loads before any command runs).
 */
function loadedFiles(entry: string, staticOnly = false): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    const text = readFileSync(file, 'utf8');
    // Whole import and export statements at the start of a line (esbuild writes them so), not any
    // `from "…"` inside code or strings; with dynamic imports, `import("…")` too.
    const statements = /^(?:import|export)\b[^;"]*?\bfrom\s*"([^"]+)";|^import\s*"([^"]+)";/gm;
    const dynamic = /\bimport\(\s*"([^"]+)"\s*\)/g;
    const matches = [...text.matchAll(statements), ...(staticOnly ? [] : text.matchAll(dynamic))];
    for (const m of matches) {
      const target = (m[1] ?? m[2])!;
      if (target.startsWith('.')) visit(resolve(dirname(file), target));
      else
        packages.add(
          target
            .split('/')
            .slice(0, target.startsWith('@') ? 2 : 1)
            .join('/'),
        );
    }
  };
  visit(join(repo, 'dist', entry));
  return { files, packages };
}

beforeAll(async () => {
  if (!postgres) return;
  database = await createDatabase(testServices.postgresUrl, databaseName);
  // Built once here, as `npm run build` does (the web UI aside): the test must see this tree's sources.
  await buildDist();
  const [apiPort, dataPlanePort, mpMetricsPort, dpMetricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  apiServer = `http://127.0.0.1:${apiPort}`;
  dataPlaneUrl = `http://127.0.0.1:${dataPlanePort}`;
  metadataMetrics = `http://127.0.0.1:${mpMetricsPort}/metrics`;
  dataPlaneMetrics = `http://127.0.0.1:${dpMetricsPort}/metrics`;
  await startCompiled(
    'metadata-plane/main.js',
    {
      SLATE_API_SERVER: apiServer,
      SLATE_REGISTRATION_TOKEN: registrationToken,
      // Embedded mode only enables the password-less login this test signs in with.
      SLATE_MODE: 'embedded',
      DATABASE_URL: database.url,
      // On PostgreSQL the signing keys are encrypted at rest under a key-encryption key the operator gives.
      SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
      PORT: String(apiPort),
      SLATE_METRICS_PORT: String(mpMetricsPort),
      HOST: '127.0.0.1',
    },
    `${apiServer}/healthz`,
  );
  await startCompiled(
    'data-plane/main.js',
    {
      SLATE_METADATA_PLANE_URL: apiServer,
      SLATE_REGISTRATION_TOKEN: registrationToken,
      SLATE_PUBLIC_URL: dataPlaneUrl,
      SLATE_DATA_PLANE_NAME: 'compiled',
      SLATE_STATE_DIR: join(work, 'data-plane'),
      PORT: String(dataPlanePort),
      SLATE_METRICS_PORT: String(dpMetricsPort),
      SLATE_GRPC_PORT: 'off',
      HOST: '127.0.0.1',
    },
    `${dataPlaneUrl}/healthz`,
  );
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!postgres)('the compiled build (dist/) as separate processes', () => {
  let clientId: string;
  let clientSecret: string;

  it('loads no tsx in either plane or the resolver worker, and keeps native packages external', () => {
    for (const entry of ['metadata-plane/main.js', 'data-plane/main.js', 'workers/resolver-worker.js']) {
      const { files, packages } = loadedFiles(entry);
      expect(packages.has('tsx'), entry).toBe(false);
      for (const file of files) expect(existsSync(`${file}.map`), `${file} has a source map`).toBe(true);
    }
    expect(loadedFiles('data-plane/main.js').packages).toContain('@duckdb/node-api');
    expect(loadedFiles('metadata-plane/main.js').packages).toContain('@node-rs/argon2');
  });

  it('starts the CLI without loading what only some commands need', () => {
    // `slate --help` loads these and nothing else; a new static import of a heavy package fails here.
    const { packages } = loadedFiles('cli/slate.js', true);
    expect([...packages].filter((p) => !p.startsWith('node:')).sort()).toEqual([
      'commander',
      'croner',
      'zod',
    ]);
    // …while the commands that need them still reach them (loaded on use).
    for (const heavy of ['apache-arrow', 'esbuild', 'tsx', 'fastify', '@duckdb/node-api']) {
      expect(loadedFiles('cli/slate.js').packages.has(heavy), heavy).toBe(true);
    }
  });

  it('deploys the quickstart with the compiled CLI and answers a query through the compiled worker', async () => {
    const cookie = await signIn(apiServer);
    ({ client_id: clientId, client_secret: clientSecret } = await createServiceToken(apiServer, cookie, {
      name: 'ci',
      permissions: ['query.online', 'deploy.create', 'deploy.read'],
    }));
    const cliEnv = {
      ...baseEnv,
      SLATE_API_SERVER: apiServer,
      SLATE_CLIENT_ID: clientId,
      SLATE_CLIENT_SECRET: clientSecret,
    };
    // bin/slate.js runs dist/cli/slate.js unless SLATE_CLI_FROM_SOURCE=1 (absent from this env).
    const bin = join(repo, 'packages/cli/bin/slate.js');
    const applied = await run(process.execPath, [bin, 'apply', '--dir', join(repo, 'examples/quickstart')], {
      cwd: work,
      env: cliEnv,
    });
    expect(applied.stdout).toMatch(/SUCCESS/);
    const queried = await run(
      process.execPath,
      [bin, 'query', '--in', 'user.id=3', '--out', 'user.name', '--out', 'user.total_spend', '--json'],
      { cwd: work, env: cliEnv },
    );
    const body = JSON.parse(queried.stdout) as { data: { field: string; value: unknown }[] };
    // Alan Turing's four transactions: 999.99 + 450 + 320.5 + 610.
    expect(body.data.map((d) => [d.field, d.value])).toEqual([
      ['user.name', 'Alan Turing'],
      ['user.total_spend', 2380.49],
    ]);
    const version = await run(process.execPath, [bin, '--version'], { env: baseEnv });
    expect(version.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')) as { version: string })
        .version,
    );
  });

  it('serves both planes’ metrics to Prometheus without a token, on the internal port only', async () => {
    const scrape = async (url: string) => {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      return response.text();
    };
    const dp = await scrape(dataPlaneMetrics);
    // The one ad-hoc query above, counted by the query server; the process's own metrics beside it.
    expect(dp).toMatch(/^query_request\{id="Unnamed",status="success"\} 1$/m);
    expect(dp).toMatch(/^process_resident_memory_bytes \d+/m);
    const mp = await scrape(metadataMetrics);
    expect(mp).toMatch(/^http_requests\{method="POST",route="\/v1\/oauth\/token",status="200"\} [1-9]/m);
    expect(mp).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    // The public API still wants a token for its own /metrics.
    expect((await fetch(`${dataPlaneUrl}/metrics`)).status).toBe(401);
  });

  it('refuses to start when the metrics port is the API port', async () => {
    const port = String(await freePort());
    const exit = await run(process.execPath, [join(repo, 'dist/data-plane/main.js')], {
      cwd: work,
      env: {
        ...baseEnv,
        SLATE_METADATA_PLANE_URL: apiServer,
        SLATE_REGISTRATION_TOKEN: registrationToken,
        PORT: port,
        SLATE_METRICS_PORT: port,
      },
      // Were it to start instead, it must not outlive the test.
      timeout: 20_000,
      killSignal: 'SIGKILL',
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('SLATE_METRICS_PORT must differ from PORT');
  });
});
