/**
 * `npm run bench -- replicas`: what a second replica of a data-plane role buys on this machine (issue 12,
 * figures 12.5), every process started from the compiled build (`node dist/…`) as production runs it:
 *
 * 1. Shape A QPS with 1 and with 2 query-server processes (`SLATE_ROLE=query`): one entity, 100 features
 *    from 25 resolvers (bench/serving/repo.ts), all precomputed in Redis, every request with a real access
 *    token from the metadata plane. autocannon (its own process, 8 connections) drives one replica's URL,
 *    then both (its connections spread over the URLs in turn, as a round-robin front would).
 * 2. Persistence throughput with 1 and with 2 workers (`SLATE_ROLE=persistence`, one consumer group):
 *    `MESSAGES` upload messages of `VALUES_PER_MESSAGE` values are put on the result bus (Redis Streams) and
 *    timed until the group has acknowledged them all, i.e. every value is in the Redis online store and in
 *    the Parquet offline store (checked by reading both stores after each round).
 *
 * Rounds alternate 1 and 2 replicas (`SLATE_BENCH_ROUNDS`, default 2) so outside load falls on both alike.
 * Each round also records every process's CPU (/proc), Redis's (`INFO cpu`) and the load generator's, to
 * say what bounds the figure. `SLATE_BENCH_PROFILE=<dir>` starts the replicas with `--cpu-prof` there.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalObjectStore,
  createParquetOfflineStore,
  createRedisBus,
  createRedisOnlineStore,
} from '@slate/stores';
import { freePort, startRedisServer } from '@slate/testing';
import { Redis } from 'ioredis';
import {
  accessToken,
  buildDist,
  createDatabase,
  createProcessGroup,
  createServiceToken,
  type ProcessGroup,
  runCli,
  type StartedProcess,
  signIn,
  until,
} from '../e2e/support/index.ts';
import { cpuMs, redisCpuMs, schedMs } from './replicas/usage.ts';
import { type BenchFigure, type BenchReport, machine } from './report.ts';
import { autocannon, type LoadRun } from './serving/autocannon.ts';

const POSTGRES_URL = process.env.SLATE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.SLATE_BENCH_ROUNDS ?? 2);
const SECONDS = Number(process.env.SLATE_BENCH_SECONDS ?? 10);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const MESSAGES = Math.round(6_000 * SCALE);
const VALUES_PER_MESSAGE = 25;
const CONNECTIONS = 8;
const ENTITY = 7;
const PROFILE = process.env.SLATE_BENCH_PROFILE;
const PREFIX = `benchreplicas${process.pid}`;
const REGISTRATION = 'a-registration-token-for-the-replicas-bench';
const repo = new URL('..', import.meta.url).pathname;
const cached = Array.from({ length: 100 }, (_, n) => `cached_entity.f${String(n).padStart(3, '0')}`);

interface QueryRound extends LoadRun {
  readonly replicas: number;
  /** CPU of the query processes, of Redis and of the load generator over the measured window, in ms. */
  readonly serverCpuMs: number;
  readonly redisCpuMs: number;
  /** Time the query processes' threads were runnable but waiting for a core, in ms. */
  readonly waitMs: number;
  readonly wallMs: number;
}
interface PersistRound {
  readonly workers: number;
  readonly valuesPerSecond: number;
  readonly wallMs: number;
  readonly workerCpuMs: number;
  readonly redisCpuMs: number;
  readonly waitMs: number;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<BenchReport> {
  await buildDist();
  const work = mkdtempSync(join(tmpdir(), 'slate-bench-replicas-'));
  const database = await createDatabase(POSTGRES_URL, `bench_replicas_${process.pid}`);
  const redis = await startRedisServer();
  const group = createProcessGroup({
    cwd: work,
    env: { PATH: process.env.PATH ?? '', HOME: work, LOG_LEVEL: 'warn' },
  });
  try {
    const apiPort = await freePort();
    const apiServer = `http://127.0.0.1:${apiPort}`;
    const objects = join(work, 'objects');
    const plane = group.startApp('metadata-plane', 'metadata-plane', {
      DATABASE_URL: database.url,
      SLATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SLATE_API_SERVER: apiServer,
      SLATE_REGISTRATION_TOKEN: REGISTRATION,
      SLATE_MODE: 'embedded',
      SLATE_SEED_FILE: join(repo, 'examples/quickstart/seed.yaml'),
      SLATE_OBJECTS_DIR: objects,
      PORT: String(apiPort),
      SLATE_METRICS_PORT: String(await freePort()),
      HOST: '127.0.0.1',
    });
    await group.waitUntilHealthy(plane, `${apiServer}/healthz`);
    const cookie = await signIn(apiServer);
    const token = await createServiceToken(apiServer, cookie, {
      name: 'bench',
      permissions: ['query.online', 'deploy.create', 'deploy.read'],
    });

    const keyFile = join(work, 'group-key.jwk');
    const { generateKeyPairSync } = await import('node:crypto');
    writeFileSync(
      keyFile,
      JSON.stringify(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })),
      {
        mode: 0o600,
      },
    );
    const replica = async (id: string, role: string) => {
      const port = await freePort();
      const metricsPort = await freePort();
      const started = group.start(
        id,
        [
          ...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : []),
          join(repo, 'dist/data-plane/main.js'),
        ],
        {
          SLATE_METADATA_PLANE_URL: apiServer,
          SLATE_REGISTRATION_TOKEN: REGISTRATION,
          SLATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
          SLATE_DATA_PLANE_NAME: 'bench',
          SLATE_INSTANCE_ID: id,
          SLATE_ROLE: role,
          SLATE_DATA_PLANE_KEY_FILE: keyFile,
          SLATE_STATE_DIR: join(work, id),
          SLATE_OBJECTS_DIR: objects,
          SLATE_WORKERS: '1',
          SLATE_GRPC_PORT: 'off',
          REDIS_URL: redis.url,
          SLATE_REDIS_KEY_PREFIX: PREFIX,
          PORT: String(port),
          SLATE_METRICS_PORT: String(metricsPort),
          HOST: '127.0.0.1',
        },
      );
      // A persistence-only process has no query server: its metrics listener says it is up.
      await group.waitUntilHealthy(started, `http://127.0.0.1:${metricsPort}/metrics`);
      return { started, url: `http://127.0.0.1:${port}` };
    };

    const queryReplicas = [await replica('query-0', 'query'), await replica('query-1', 'query')];
    await deployServingRepo(work, apiServer, token);
    const jwt = await accessToken(apiServer, token);
    const queries = await benchQueries(group, redis.url, queryReplicas, jwt);
    for (const q of queryReplicas) await stop(q.started);

    const persistence = await benchPersistence(redis.url, objects, work, (i, round) =>
      replica(`persistence-${round}-${i}`, 'persistence').then((r) => r.started),
    );
    return report(queries, persistence);
  } finally {
    await group.stopAll();
    await redis.stop();
    await database.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function stop(process: StartedProcess): Promise<void> {
  if (!process.alive()) return;
  process.child.kill('SIGTERM');
  await process.exited;
}

/** Deploys bench/serving/repo.ts as a feature repository with the compiled CLI, and waits until served. */
async function deployServingRepo(
  work: string,
  apiServer: string,
  token: { client_id: string; client_secret: string },
): Promise<void> {
  const project = join(work, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  cpSync(join(repo, 'bench/serving/repo.ts'), join(project, 'src/index.ts'));
  writeFileSync(join(project, 'slate.yaml'), 'project: bench-serving\nentry: src/index.ts\n');
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  await runCli(['apply', '--dir', project, '--json'], {
    cwd: work,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      SLATE_API_SERVER: apiServer,
      SLATE_CLIENT_ID: token.client_id,
      SLATE_CLIENT_SECRET: token.client_secret,
    },
  });
}

async function benchQueries(
  group: ProcessGroup,
  redisUrl: string,
  replicas: readonly { started: StartedProcess; url: string }[],
  jwt: string,
): Promise<QueryRound[]> {
  // Precomputed, as a persistence job would have stored them.
  const online = createRedisOnlineStore({ url: redisUrl, keyPrefix: PREFIX });
  await online.init();
  const observedAt = Date.now();
  await online.set(
    'dev',
    cached.map((feature, n) => ({ feature, pkey: ENTITY, value: ENTITY * 0.5 + n, observedAt })),
  );
  await online.close();
  const headers = { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ inputs: { 'cached_entity.id': ENTITY }, outputs: cached });
  // Every replica answers the shape with the stored values before anything is timed.
  for (const { url } of replicas)
    await until(
      async () => {
        const res = await fetch(`${url}/v1/query/online`, { method: 'POST', headers, body });
        const json = (await res.json()) as { data?: { value: unknown }[] };
        return json.data?.length === 100 && json.data.every((d, n) => d.value === ENTITY * 0.5 + n)
          ? true
          : undefined;
      },
      `${url} serving shape A`,
      { context: () => group.tails() },
    );

  const redis = new Redis(redisUrl);
  const rounds: QueryRound[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const count of [1, 2]) {
        const targets = replicas.slice(0, count);
        const options = {
          url: targets.map((t) => `${t.url}/v1/query/online`),
          headers,
          body,
          connections: CONNECTIONS,
        };
        await autocannon({ ...options, duration: 2 }); // warm-up: JIT, plan cache, connection pools
        const pids = replicas.map((r) => r.started.child.pid!);
        const cpuBefore = pids.map(cpuMs);
        const waitBefore = pids.map((pid) => schedMs(pid).waitMs);
        const redisBefore = await redisCpuMs(redis);
        const begin = performance.now();
        const load = await autocannon({ ...options, duration: SECONDS });
        const wallMs = performance.now() - begin;
        if (load.non2xx > 0 || load.errors > 0)
          throw new Error(`shape A on ${count} replica(s): ${load.non2xx} non-2xx, ${load.errors} errors`);
        rounds.push({
          ...load,
          replicas: count,
          wallMs,
          serverCpuMs: pids.reduce((sum, pid, i) => sum + cpuMs(pid) - cpuBefore[i]!, 0),
          waitMs: pids.reduce((sum, pid, i) => sum + schedMs(pid).waitMs - waitBefore[i]!, 0),
          redisCpuMs: (await redisCpuMs(redis)) - redisBefore,
        });
      }
  } finally {
    redis.disconnect();
  }
  return rounds;
}

async function benchPersistence(
  redisUrl: string,
  objects: string,
  work: string,
  startWorker: (i: number, round: number) => Promise<StartedProcess>,
): Promise<PersistRound[]> {
  const bus = createRedisBus({ url: redisUrl, keyPrefix: PREFIX });
  await bus.init();
  const redis = new Redis(redisUrl);
  const online = createRedisOnlineStore({ url: redisUrl, keyPrefix: PREFIX });
  await online.init();
  const objectStore = createLocalObjectStore({ root: objects });
  await objectStore.init();
  const offline = createParquetOfflineStore({ objectStore, stagingDir: join(work, 'reader'), threads: 1 });
  await offline.init();
  const features = cached.slice(0, VALUES_PER_MESSAGE);
  const rounds: PersistRound[] = [];
  let round = 0;
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const count of [1, 2]) {
        round++;
        const workers: StartedProcess[] = [];
        for (let i = 0; i < count; i++) workers.push(await startWorker(i, round));
        // Each round's entities are its own: pkey = round · 10⁶ + message number.
        const pkeys = Array.from({ length: MESSAGES }, (_, m) => round * 1_000_000 + m);
        const messages = pkeys.map((pkey) => ({
          key: String(pkey),
          id: `bench-${round}-${pkey}`,
          value: JSON.stringify({
            version: 1,
            environment: 'dev',
            operationId: `bench-${round}-${pkey}`,
            operationKind: 'UPLOAD_FEATURES',
            deploymentId: null,
            insertedAt: Date.now(),
            values: features.map((feature, n) => ({
              feature,
              pkey: String(pkey),
              value: pkey + n / 4,
              observedAt: Date.now(),
              resolver: null,
            })),
            writeOnline: true,
            writeOffline: true,
          }),
        }));
        const pids = workers.map((w) => w.child.pid!);
        const cpuBefore = pids.map(cpuMs);
        const waitBefore = pids.map((pid) => schedMs(pid).waitMs);
        const redisBefore = await redisCpuMs(redis);
        const begin = performance.now();
        for (let i = 0; i < messages.length; i += 500)
          await bus.publish('result-bus', messages.slice(i, i + 500));
        await until(
          async () => ((await groupBacklog(redis)) === 0 ? true : undefined),
          `persistence round ${round} drained`,
          { timeoutMs: 600_000, intervalMs: 50 },
        );
        const wallMs = performance.now() - begin;
        const workerCpuMs = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - cpuBefore[i]!, 0);
        const redisCpu = (await redisCpuMs(redis)) - redisBefore;
        const waitMs = pids.reduce((sum, pid, i) => sum + schedMs(pid).waitMs - waitBefore[i]!, 0);
        for (const w of workers) await stop(w);
        await checkStored(online, offline, features, pkeys);
        rounds.push({
          workers: count,
          wallMs,
          valuesPerSecond: (MESSAGES * VALUES_PER_MESSAGE) / (wallMs / 1000),
          workerCpuMs,
          redisCpuMs: redisCpu,
          waitMs,
        });
      }
  } finally {
    await offline.close();
    await online.close();
    await bus.close();
    redis.disconnect();
  }
  return rounds;
}

/** Messages of the result bus the persistence group has not acknowledged: not yet delivered, or pending. */
async function groupBacklog(redis: Redis): Promise<number> {
  const groups = (await redis.xinfo('GROUPS', `${PREFIX}:bus:result-bus`)) as unknown[][];
  for (const fields of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
    if (info.get('name') === 'background-persistence')
      return Number(info.get('lag') ?? Number.NaN) + Number(info.get('pending'));
  }
  return Number.NaN;
}

/** Every value of the round is online and offline, once, with the value it was sent with. */
async function checkStored(
  online: ReturnType<typeof createRedisOnlineStore>,
  offline: ReturnType<typeof createParquetOfflineStore>,
  features: readonly string[],
  pkeys: readonly number[],
): Promise<void> {
  const last = features.length - 1;
  const values = await online.get(
    'dev',
    pkeys.map((pkey) => ({ feature: features[last]!, pkey: String(pkey) })),
  );
  const wrong = values.filter((v, i) => v?.value !== pkeys[i]! + last / 4).length;
  if (wrong > 0) throw new Error(`${wrong} of ${pkeys.length} values missing or wrong online`);
  const rows = await offline.scan('dev', { features: [features[0]!] });
  const inRound = new Set(pkeys.map(String));
  const counted = rows.filter((row) => inRound.has(row.pkey));
  if (counted.length !== pkeys.length || new Set(counted.map((r) => r.pkey)).size !== pkeys.length)
    throw new Error(`offline: ${counted.length} rows for ${pkeys.length} messages`);
}

function report(queries: readonly QueryRound[], persistence: readonly PersistRound[]): BenchReport {
  const q = (n: number) => queries.filter((r) => r.replicas === n);
  const p = (n: number) => persistence.filter((r) => r.workers === n);
  const pct = (ms: number, wallMs: number) => Math.round((100 * ms) / wallMs);
  const q1 = q(1);
  const q2 = q(2);
  const p1 = p(1);
  const p2 = p(2);
  const figures: BenchFigure[] = [
    {
      name: 'Shape A QPS, 2 query-server processes (baseline: 1)',
      value: median(q2.map((r) => r.qps)),
      baseline: median(q1.map((r) => r.qps)),
      unit: 'QPS',
      note: `p99 ${median(q2.map((r) => r.p99))} ms (1 process: ${median(q1.map((r) => r.p99))} ms)`,
    },
    {
      name: 'Shape A CPU per query, all query processes',
      value: median(q2.map((r) => (1000 * r.serverCpuMs) / r.total)),
      baseline: median(q1.map((r) => (1000 * r.serverCpuMs) / r.total)),
      unit: 'µs',
    },
    {
      name: 'Persistence throughput, 2 workers (baseline: 1)',
      value: median(p2.map((r) => r.valuesPerSecond)),
      baseline: median(p1.map((r) => r.valuesPerSecond)),
      unit: 'values/s',
      note: `${MESSAGES.toLocaleString('en-US')} messages × ${VALUES_PER_MESSAGE} values, bus → Redis + Parquet`,
    },
    {
      name: 'Persistence CPU per 1,000 values, all workers',
      value: median(p2.map((r) => (r.workerCpuMs * 1000) / (MESSAGES * VALUES_PER_MESSAGE))),
      baseline: median(p1.map((r) => (r.workerCpuMs * 1000) / (MESSAGES * VALUES_PER_MESSAGE))),
      unit: 'ms',
    },
  ];
  const queryRows = queries.map(
    (r) =>
      `| query, ${r.replicas} process${r.replicas > 1 ? 'es' : ''} | ${Math.round(r.qps)} QPS | ${pct(r.serverCpuMs, r.wallMs)}% | ${pct(r.waitMs, r.wallMs)}% | ${pct(r.redisCpuMs, r.wallMs)}% | ${pct(r.loadCpuMs, r.wallMs)}% | ${pct(r.serverCpuMs + r.redisCpuMs + r.loadCpuMs, r.wallMs)}% |`,
  );
  const persistRows = persistence.map(
    (r) =>
      `| persistence, ${r.workers} worker${r.workers > 1 ? 's' : ''} | ${Math.round(r.valuesPerSecond)} values/s | ${pct(r.workerCpuMs, r.wallMs)}% | ${pct(r.waitMs, r.wallMs)}% | ${pct(r.redisCpuMs, r.wallMs)}% | – | ${pct(r.workerCpuMs + r.redisCpuMs, r.wallMs)}% |`,
  );
  return {
    name: 'replicas',
    title: 'Replicas: 1 against 2 query servers and persistence workers (compiled processes)',
    figures,
    notes: [
      `Every process runs from the compiled build: a metadata plane (PostgreSQL), data-plane replicas \`node dist/data-plane/main.js\` with \`SLATE_ROLE=query\` or \`SLATE_ROLE=persistence\` (one data plane, one shared group key, a private \`redis-server\` for the online store and the bus, Parquet in a local objects folder). Shape A: \`POST /v1/query/online\`, one entity, 100 features from 25 resolvers precomputed in Redis, a real access token; autocannon in its own process with ${CONNECTIONS} connections, on one replica's URL or spread over both, ${SECONDS} s per run after a 2 s warm-up. Persistence: ${MESSAGES.toLocaleString('en-US')} upload messages of ${VALUES_PER_MESSAGE} values put on the result bus, timed until the consumer group's lag and pending count are 0; every value is then read back from Redis and from Parquet. Medians of ${ROUNDS} rounds, 1 and 2 replicas alternating.`,
      `The machine: ${machine.cores} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), shared with other work; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} (1 / 5 / 15 min) when the run ended.`,
      'Where the CPU went in each run, in % of one core over the measured window (/proc for the replicas, `INFO cpu` for Redis, `process.cpuUsage()` for autocannon; 200% is the whole machine), and how long the replicas\u2019 threads were runnable but waiting for a core (the sum over their threads of `/proc/<pid>/task/*/schedstat`\u2019s run-queue time):',
      '',
      '| run | throughput | Slate processes | Slate processes waiting for a core | Redis | load generator | total CPU |',
      '|---|---|---|---|---|---|---|',
      ...queryRows,
      ...persistRows,
      '',
      boundsNote(q1, q2, p1, p2),
      'Reproduce: `npm run bench -- replicas` (PostgreSQL at `SLATE_BENCH_POSTGRES_URL`, `redis-server` on the PATH; `SLATE_BENCH_ROUNDS`, `SLATE_BENCH_SECONDS`, `BENCH_SCALE` for the persistence size; `SLATE_BENCH_PROFILE=<dir>` writes a `.cpuprofile` per replica).',
    ].join('\n'),
  };
}

/** What the CPU split and the run-queue waits say bounds each figure, from this run's numbers. */
function boundsNote(
  q1: readonly QueryRound[],
  q2: readonly QueryRound[],
  p1: readonly PersistRound[],
  p2: readonly PersistRound[],
): string {
  const share = <T>(rs: readonly T[], part: (r: T) => number, wall: (r: T) => number) =>
    (100 * median(rs.map((r) => part(r) / wall(r)))).toFixed(0);
  const total = (r: QueryRound) => r.serverCpuMs + r.redisCpuMs + r.loadCpuMs;
  const qpsRatio = median(q2.map((r) => r.qps)) / median(q1.map((r) => r.qps));
  const persistRatio = median(p2.map((r) => r.valuesPerSecond)) / median(p1.map((r) => r.valuesPerSecond));
  const waitPerRun = <T extends { waitMs: number }>(rs: readonly T[], cpu: (r: T) => number) =>
    median(rs.map((r) => r.waitMs / Math.max(1, cpu(r)))).toFixed(1);
  return [
    `What bounds it: the cores, and on this machine the other work on them. Query servers: two processes give ${qpsRatio.toFixed(2)}× the QPS of one. The measured processes (replicas, Redis, autocannon) use ${share(q1, total, (r) => r.wallMs)}% of a core between them with one replica and ${share(q2, total, (r) => r.wallMs)}% with two, of the machine's ${machine.cores * 100}%; the replicas' threads waited ${waitPerRun(q1, (r) => r.serverCpuMs)} ms (one) and ${waitPerRun(q2, (r) => r.serverCpuMs)} ms (two) on the run queue for every ms they ran. Neither Redis (${share(
      q2,
      (r) => r.redisCpuMs,
      (r) => r.wallMs,
    )}% of a core) nor the load generator is near a core, and nothing in the query path is shared between replicas but Redis, so a replica's throughput is the CPU it gets divided by the CPU per query. Where there is an idle core a second replica adds one; on an oversubscribed machine it only adds a second claimant to the same run queue, so the ratio moves with the outside load from run to run and says nothing about a cluster, where each replica has its own cores and Redis its own host. The figure that carries over is the CPU per query (second line: ${Math.round(median(q1.map((r) => (1000 * r.serverCpuMs) / r.total)))} µs with one replica here), i.e. about 10⁶ / that in QPS per core and per replica. It is several times the in-process figure of \`npm run bench -- serving\` because the whole process is measured (HTTP, token checks, the query log and usage published to the result bus, metrics) on a machine where every context switch costs cache misses.`,
    'Profile of one query replica under this load (`SLATE_BENCH_PROFILE`, summarised with `node --import tsx bench/replicas/profile-summary.ts <dir>`, self time in % of busy samples, 2026-12-07, load average ~22, start-up included): socket writes to Redis 16% (the online store\u2019s MGET of 100 keys 11%, the result bus\u2019s query-log message 5%: the `write` system call, which on a saturated machine is where the kernel\u2019s share shows), Slate\u2019s own code 18% (engine cache read and value decoding, result messages, plan execution; no function above 2%), GC 9%, module loading at start-up 7%, Fastify 6%, ioredis 5%, HTTP response writes 5%, zod 3%. No lock, queue or single hot spot: the per-query cost is spread over the I/O and the engine, as in `npm run bench -- serving`.',
    `Persistence: two workers give ${persistRatio.toFixed(2)}× the values/s of one. The workers use ${share(
      p1,
      (r) => r.workerCpuMs,
      (r) => r.wallMs,
    )}% (one) and ${share(
      p2,
      (r) => r.workerCpuMs,
      (r) => r.wallMs,
    )}% (two) of a core, Redis ${share(
      p2,
      (r) => r.redisCpuMs,
      (r) => r.wallMs,
    )}%, and the workers waited ${waitPerRun(p1, (r) => r.workerCpuMs)} / ${waitPerRun(p2, (r) => r.workerCpuMs)} ms on the run queue per ms they ran: they are starved of CPU, not of work (the bus holds the whole burst) nor of Redis. A worker writes each batch online (one Redis pipeline) and offline (one Parquet commit) before acknowledging it, and polls the next batch while one is written; two workers split the group's messages between them, so with a core each they would double it, until Redis or the object store is full. The figure that carries over is the CPU per 1,000 values (fourth line), about 10⁶ / that in values/s per core. A persistence worker's profile at this size is mostly its own start-up (module loading 22%, DuckDB 6–14%, GC 15–18%).`,
  ].join('\n\n');
}
