/**
 * `npm run bench -- startup`: what the compiled build (`npm run build`, dist/) saves against running the
 * TypeScript sources through tsx, measured in the same run (issue 12):
 * - each process's start-up: wall time until it answers its probe (metadata plane `/healthz`; data plane
 *   `/readyz`, i.e. registered, the quickstart deployment fetched and its resolver workers booted), the
 *   process's CPU time until then and its resident memory then;
 * - a resolver worker thread's boot, from `new Worker` to its `ready` message, with the quickstart bundle;
 * - the CLI: `slate --help` and `slate query` (token exchange and one online query) wall-clock.
 * Compiled and tsx runs alternate, round after round, so outside load falls on both alike.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { bundleProject, readProjectConfig } from '@slate/cli';
import { freePort } from '@slate/testing';
import pg from 'pg';
import { type BenchFigure, type BenchReport, machine } from './report.ts';

/** The signing keys' key-encryption key, one per bench run: every round reuses the same database. */
const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');

const POSTGRES_URL = process.env.SLATE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.SLATE_BENCH_ROUNDS ?? 3);
const repo = new URL('..', import.meta.url).pathname;
const exec = promisify(execFile);
const registrationToken = 'a-registration-token-for-the-startup-bench';

type Variant = 'compiled' | 'tsx';
interface Started {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssMb: number;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** How a process starts in each variant: `node dist/<app>/main.js` or `node --import tsx apps/<app>/src/main.ts`. */
const command = (app: string, variant: Variant) =>
  variant === 'compiled'
    ? [join(repo, `dist/${app}/main.js`)]
    : ['--import', 'tsx', join(repo, `apps/${app}/src/main.ts`)];

/** utime + stime of a live process in ms, and its resident memory in MB (Linux /proc). */
function usage(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return { cpuMs: ticks * 10, rssMb: rssKb / 1024 };
}

/** Starts one process and measures it when `probe` first answers 200; the process keeps running. */
async function start(
  app: string,
  variant: Variant,
  env: Record<string, string>,
  probe: string,
): Promise<{ child: ChildProcess; started: Started }> {
  const begin = performance.now();
  const child = spawn(process.execPath, command(app, variant), {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} (${variant}) exited ${child.exitCode}: ${stderr}`);
    if (performance.now() - begin > 120_000) throw new Error(`${app} (${variant}) not ready: ${stderr}`);
    if (
      await fetch(probe).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wallMs = performance.now() - begin;
  return { child, started: { wallMs, ...usage(child.pid!) } };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM'));
}

/** Wall time from `new Worker` to the worker's `ready`, booting `bundlePath`. */
async function bootWorker(variant: Variant, bundlePath: string): Promise<number> {
  const workerData = { bundleUrl: pathToFileURL(bundlePath).href, secrets: {} };
  const entry = pathToFileURL(join(repo, 'packages/engine/src/runtime/worker/worker-main.ts')).href;
  const begin = performance.now();
  const worker =
    variant === 'compiled'
      ? new Worker(join(repo, 'dist/workers/resolver-worker.js'), { workerData })
      : new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
          { eval: true, workerData },
        );
  try {
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: string }) =>
        m.type === 'ready' ? resolve() : reject(new Error(m.type)),
      );
      worker.once('error', reject);
    });
    return performance.now() - begin;
  } finally {
    await worker.terminate();
  }
}

/** Wall time of one CLI run, and its CPU time (user + system, through `/usr/bin/time`), in ms. */
async function timeCli(
  variant: Variant,
  args: string[],
  env: Record<string, string>,
  timesFile: string,
): Promise<{ wallMs: number; cpuMs: number }> {
  const begin = performance.now();
  await exec(
    '/usr/bin/time',
    ['-o', timesFile, '-f', '%U %S', process.execPath, join(repo, 'packages/cli/bin/slate.js'), ...args],
    {
      cwd: repo,
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        ...(variant === 'tsx' ? { SLATE_CLI_FROM_SOURCE: '1' } : {}),
      },
    },
  );
  const wallMs = performance.now() - begin;
  const [user, system] = readFileSync(timesFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wallMs, cpuMs: (user! + system!) * 1000 };
}

/** A service token for the `dev` environment, through the embedded mode's password-less owner login. */
async function serviceToken(apiServer: string): Promise<{ client_id: string; client_secret: string }> {
  const login = await fetch(`${apiServer}/v1/auth/local-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1' },
    body: JSON.stringify({ email: 'owner@example.com' }),
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const created = await fetch(`${apiServer}/v1/environments/dev/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slate-csrf': '1', cookie },
    body: JSON.stringify({ name: 'bench', permissions: ['query.online', 'deploy.create', 'deploy.read'] }),
  });
  if (created.status !== 201) throw new Error(`token: ${created.status} ${await created.text()}`);
  return (await created.json()) as { client_id: string; client_secret: string };
}

export async function run(): Promise<BenchReport> {
  await exec(process.execPath, [join(repo, 'scripts/build.mjs'), '--no-web']);
  const work = mkdtempSync(join(tmpdir(), 'slate-bench-startup-'));
  const database = `bench_startup_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`create database ${database}`);
  const databaseUrl = new URL(POSTGRES_URL);
  databaseUrl.pathname = `/${database}`;
  const [apiPort, dataPlanePort, mpMetrics, dpMetrics] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const apiServer = `http://127.0.0.1:${apiPort}`;
  const dataPlaneUrl = `http://127.0.0.1:${dataPlanePort}`;
  const metadataEnv = {
    DATABASE_URL: databaseUrl.toString(),
    SLATE_METADATA_GRPC_PORT: 'off',
    SLATE_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
    SLATE_API_SERVER: apiServer,
    SLATE_REGISTRATION_TOKEN: registrationToken,
    SLATE_MODE: 'embedded',
    SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
    SLATE_OBJECTS_DIR: join(work, 'objects'),
    PORT: String(apiPort),
    SLATE_METRICS_PORT: String(mpMetrics),
    HOST: '127.0.0.1',
  };
  const dataPlaneEnv = {
    SLATE_METADATA_PLANE_URL: apiServer,
    SLATE_REGISTRATION_TOKEN: registrationToken,
    SLATE_PUBLIC_URL: dataPlaneUrl,
    SLATE_DATA_PLANE_NAME: 'bench',
    SLATE_OBJECTS_DIR: join(work, 'objects'),
    SLATE_STATE_DIR: join(work, 'data-plane'),
    PORT: String(dataPlanePort),
    SLATE_METRICS_PORT: String(dpMetrics),
    HOST: '127.0.0.1',
  };
  const samples: Record<string, Record<Variant, Started[]>> = {
    'metadata plane': { compiled: [], tsx: [] },
    'data plane': { compiled: [], tsx: [] },
  };
  const times: Record<string, Record<Variant, number[]>> = {
    'resolver worker boot': { compiled: [], tsx: [] },
    'slate --help': { compiled: [], tsx: [] },
    'slate query': { compiled: [], tsx: [] },
  };
  const cliCpu: Record<string, Record<Variant, number[]>> = {
    'slate --help': { compiled: [], tsx: [] },
    'slate query': { compiled: [], tsx: [] },
  };
  const timesFile = join(work, 'time.txt');
  try {
    // Migrations, the seed and the quickstart's deployment happen once, before anything is measured.
    const first = await start('metadata-plane', 'compiled', metadataEnv, `${apiServer}/healthz`);
    const token = await serviceToken(apiServer);
    const cliEnv = {
      SLATE_API_SERVER: apiServer,
      SLATE_CLIENT_ID: token.client_id,
      SLATE_CLIENT_SECRET: token.client_secret,
    };
    const dataPlane = await start('data-plane', 'compiled', dataPlaneEnv, `${dataPlaneUrl}/healthz`);
    await exec(
      process.execPath,
      [join(repo, 'packages/cli/bin/slate.js'), 'apply', '--dir', 'examples/quickstart'],
      {
        cwd: repo,
        env: { PATH: process.env.PATH ?? '', ...cliEnv },
      },
    );
    await stop(dataPlane.child);
    await stop(first.child);
    const bundlePath = join(work, 'quickstart.mjs');
    writeFileSync(
      bundlePath,
      await bundleProject(await readProjectConfig(join(repo, 'examples/quickstart'))),
    );
    const query = ['query', '--in', 'user.id=1', '--out', 'user.name', '--out', 'user.risk_score'];

    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['compiled', 'tsx'] as const) {
        const mp = await start('metadata-plane', variant, metadataEnv, `${apiServer}/healthz`);
        samples['metadata plane']![variant].push(mp.started);
        const dp = await start('data-plane', variant, dataPlaneEnv, `${dataPlaneUrl}/readyz`);
        samples['data plane']![variant].push(dp.started);
        times['resolver worker boot']![variant].push(await bootWorker(variant, bundlePath));
        for (const [name, args, env] of [
          ['slate --help', ['--help'], {}],
          ['slate query', query, cliEnv],
        ] as const) {
          const { wallMs, cpuMs } = await timeCli(variant, [...args], env, timesFile);
          times[name]![variant].push(wallMs);
          cliCpu[name]![variant].push(cpuMs);
        }
        await stop(dp.child);
        await stop(mp.child);
      }
    }
  } finally {
    await admin(`drop database if exists ${database} with (force)`);
    rmSync(work, { recursive: true, force: true });
  }

  const figures: BenchFigure[] = [];
  for (const [name, byVariant] of Object.entries(samples)) {
    const of = (variant: Variant, key: keyof Started) => median(byVariant[variant].map((s) => s[key]));
    const note = 'compiled (node dist/…) against the sources through tsx';
    figures.push(
      {
        name: `${name}: start-up to ready, wall`,
        value: of('compiled', 'wallMs'),
        baseline: of('tsx', 'wallMs'),
        unit: 'ms',
        note,
      },
      {
        name: `${name}: CPU until ready`,
        value: of('compiled', 'cpuMs'),
        baseline: of('tsx', 'cpuMs'),
        unit: 'ms',
      },
      {
        name: `${name}: RSS when ready`,
        value: of('compiled', 'rssMb'),
        baseline: of('tsx', 'rssMb'),
        unit: 'MB',
      },
    );
  }
  const targets: Record<string, string> = {
    'slate --help': 'target < 500 ms wall',
    'slate query': 'target < 1,000 ms wall',
  };
  for (const [name, byVariant] of Object.entries(times)) {
    figures.push({
      name: `${name}, wall`,
      value: median(byVariant.compiled),
      baseline: median(byVariant.tsx),
      unit: 'ms',
      note: targets[name] ?? '',
    });
    const cpu = cliCpu[name];
    if (cpu) {
      figures.push({
        name: `${name}, CPU of the CLI process`,
        value: median(cpu.compiled),
        baseline: median(cpu.tsx),
        unit: 'ms',
        note: 'user + system (`/usr/bin/time`); the servers’ CPU not included',
      });
    }
  }
  return {
    name: 'startup',
    title: 'Start-up: the compiled build against the sources through tsx',
    figures,
    notes: [
      `Each figure is the median of ${ROUNDS} rounds; a round starts the metadata plane, then the data plane, boots a resolver worker, and runs the CLI twice, once compiled ("Slate": \`node dist/…\`, from \`npm run build\`) and once from the sources through tsx ("baseline"), so both meet the same outside load. The machine has ${machine.cores} cores shared with other work: load average ${loadavg()[0]!.toFixed(1)} (1-minute) when the run ended. Wall times move with that load (at a load of 16 on 2 cores a process waits for a core most of the time); CPU time and RSS much less, so they are the figures to compare across runs.`,
      "Metadata plane: `node dist/metadata-plane/main.js` on PostgreSQL (migrations already applied, seed already loaded), ready when `/healthz` answers. Data plane: `node dist/data-plane/main.js`, embedded online store and bus, ready when `/readyz` answers: registered with the metadata plane, the quickstart deployment fetched and loaded, its 2 resolver workers booted. CPU and RSS are the process's own (`/proc`), at that moment. Resolver worker: one worker thread from `new Worker` to its `ready` message with the quickstart bundle (compiled: dist/workers/resolver-worker.js; tsx: worker-main.ts through a tsx bootstrap, as the sources run). CLI: `packages/cli/bin/slate.js` (dist/cli/slate.js, or the sources with `SLATE_CLI_FROM_SOURCE=1`); `slate query` exchanges its token with the metadata plane and runs one online query on the data plane.",
      'Reproduce: `npm run bench -- startup` (PostgreSQL at `SLATE_BENCH_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test, where it creates and drops a database; `SLATE_BENCH_ROUNDS`, default 3).',
    ].join('\n\n'),
  };
}
