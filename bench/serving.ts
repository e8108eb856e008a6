/**
 * `npm run bench -- serving`: the data plane's query server under load over loopback (issue 4).
 *
 * One process serves; autocannon runs as a separate process with 8 connections for a bounded time per
 * shape (`SLATE_BENCH_SECONDS`, default 10, after a 2 s warm-up). Shapes:
 * - baseline: a bare Fastify handler doing one Redis MGET of the same 100 values and answering the same
 *   JSON shape as `/v1/query/online` (no auth, no planning);
 * - A: `POST /v1/query/online`, one entity, 100 features from 25 resolvers, all precomputed in Redis;
 * - B: the same 100 features computed on every query by TypeScript resolvers in the worker runtime;
 * - C: `POST /v1/query/feather`, 100 entities × 20 features per request (precomputed), in rows/s.
 * Every request carries a real EdDSA JWT verified by the data plane; logs are at `warn` (no per-query line).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  createDataPlaneMetrics,
  createDataPlaneServer,
  createTokenVerifier,
  ServedEnvironments,
} from '@slate/data-plane';
import { createEngine, createWorkerRuntime } from '@slate/engine';
import { collectGraph } from '@slate/sdk';
import { createRedisOnlineStore } from '@slate/stores';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { type BenchFigure, type BenchReport, machine } from './report.ts';
import * as repo from './serving/repo.ts';

const REDIS_URL = process.env.SLATE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.SLATE_BENCH_SECONDS ?? 10);
const CONNECTIONS = 8;
const ENVIRONMENT = 'bench';
const ENTITY = 7;
const BULK_ENTITIES = 100;
const BULK_FEATURES = 20;

interface LoadResult {
  /** Server-process CPU (all threads) per answered request, in µs: robust to other load on the machine. */
  readonly cpuUsPerRequest: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** Runs autocannon in its own process so the load generator never shares the server's event loop. */
function autocannon(options: Record<string, unknown>): Promise<LoadResult & { total: number }> {
  const script = fileURLToPath(new URL('./serving/load.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`));
      const json = JSON.parse(out);
      resolve({
        cpuUsPerRequest: 0,
        total: json.requests.total,
        qps: json.requests.average,
        p50: json.latency.p50,
        p99: json.latency.p99,
        non2xx: json.non2xx,
        errors: json.errors + json.timeouts,
      });
    });
  });
}

async function load(
  url: string,
  options: { headers: Record<string, string>; body: string | Buffer },
): Promise<LoadResult> {
  const common = {
    url,
    headers: options.headers,
    connections: CONNECTIONS,
    ...(typeof options.body === 'string'
      ? { body: options.body }
      : { bodyBase64: options.body.toString('base64') }),
  };
  await autocannon({ ...common, duration: 2 }); // warm-up: JIT, plan cache, connection pools
  const cpu = process.cpuUsage();
  const measured = await autocannon({ ...common, duration: SECONDS });
  const used = process.cpuUsage(cpu);
  const result = { ...measured, cpuUsPerRequest: (used.user + used.system) / Math.max(1, measured.total) };
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  return result;
}

export async function run(): Promise<BenchReport> {
  const { artifact } = collectGraph(repo);
  const cachedFeatures = artifact.namespaces
    .find((ns) => ns.name === 'cached_entity')!
    .features.filter((f) => f.name !== 'id')
    .map((f) => f.fqn);
  const liveFeatures = cachedFeatures.map((fqn) => fqn.replace('cached_entity.', 'live_entity.'));
  const keyPrefix = `slate-bench-${process.pid}`;
  const onlineStore = createRedisOnlineStore({ url: REDIS_URL, keyPrefix });
  await onlineStore.init();
  const redis = new Redis(REDIS_URL);

  const metrics = createDataPlaneMetrics();
  const runtime = metrics.instrumentRuntime(
    await createWorkerRuntime({
      bundlePath: fileURLToPath(new URL('./serving/repo.ts', import.meta.url)),
      workers: 2,
    }),
  );
  const engine = createEngine({
    graph: artifact,
    runtime,
    onlineStore,
    environment: ENVIRONMENT,
    deploymentId: 'cbench',
  });
  const served = new ServedEnvironments();
  served.upsert({ id: ENVIRONMENT, name: 'Benchmark', teamId: 'bench', projectId: 'bench' });
  served.activate(ENVIRONMENT, { id: 'cbench', engine });

  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
  const issuer = 'http://bench.metadata';
  const token = await new SignJWT({ env: ENVIRONMENT, perms: ['query.online'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('slate')
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(pair.privateKey);
  const app = createDataPlaneServer({
    served,
    verifier: createTokenVerifier({
      jwksUrl: `${issuer}/jwks`,
      issuer,
      keys: createLocalJWKSet({ keys: [jwk] }),
    }),
    logger: pino({ level: 'warn' }),
    isReady: () => true,
    metrics,
    maxInFlightPerEnvironment: 1024,
  });
  const slateUrl = await app.listen({ port: 0, host: '127.0.0.1' });

  // Precompute every cached feature for the entities the shapes ask for, as a persistence job would.
  const observedAt = Date.now();
  const ids = [ENTITY, ...Array.from({ length: BULK_ENTITIES }, (_, i) => 1000 + i)];
  await onlineStore.set(
    ENVIRONMENT,
    ids.flatMap((id) =>
      cachedFeatures.map((feature, n) => ({ feature, pkey: id, value: id * 0.5 + n, observedAt })),
    ),
  );

  // The baseline: the same 100 values, one MGET, the same response shape, nothing else.
  const baseline = Fastify({ logger: false });
  const baselineKeys = cachedFeatures.map((fqn) => `${keyPrefix}:${ENVIRONMENT}:${fqn}:${ENTITY}`);
  baseline.post('/v1/query/online', async () => {
    const raw = await redis.mget(baselineKeys);
    return {
      data: raw.map((text, i) => {
        const stored = text === null ? null : (JSON.parse(text) as { v: unknown; t: number });
        return {
          field: cachedFeatures[i],
          value: stored?.v ?? null,
          pkey: ENTITY,
          ts: stored ? new Date(stored.t).toISOString() : null,
          valid: true,
          error: null,
        };
      }),
      errors: [],
    };
  });
  const baselineUrl = await baseline.listen({ port: 0, host: '127.0.0.1' });

  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const bodyA = JSON.stringify({ inputs: { 'cached_entity.id': ENTITY }, outputs: cachedFeatures });
  const bodyB = JSON.stringify({ inputs: { 'live_entity.id': ENTITY }, outputs: liveFeatures });
  const bodyC = featherBody(ids.slice(1), cachedFeatures.slice(0, BULK_FEATURES));

  // The shapes answer what they claim before they are timed.
  await check(`${slateUrl}/v1/query/online`, headers, bodyA, (body) => {
    const data = body.data as { value: unknown; meta?: unknown }[];
    return data.length === 100 && data.every((d, n) => d.value === ENTITY * 0.5 + n);
  });
  await check(`${slateUrl}/v1/query/online`, headers, bodyB, (body) => {
    const data = body.data as { value: unknown }[];
    return (
      data.length === 100 && data[5]!.value === ENTITY * 2.5 + 1 && (body.errors as unknown[]).length === 0
    );
  });
  await check(`${baselineUrl}/v1/query/online`, {}, bodyA, (body) => (body.data as unknown[]).length === 100);

  try {
    // Profiling aid: `SLATE_BENCH_ONLY=base|A|B|C` loads one shape, prints it and exits without a report.
    const only = process.env.SLATE_BENCH_ONLY;
    if (only) {
      const shape = { A: bodyA, B: bodyB }[only];
      const result =
        only === 'base'
          ? await load(`${baselineUrl}/v1/query/online`, {
              headers: { 'content-type': 'application/json' },
              body: bodyA,
            })
          : shape
            ? await load(`${slateUrl}/v1/query/online`, { headers, body: shape })
            : await load(`${slateUrl}/v1/query/feather`, {
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
                body: bodyC,
              });
      console.log(`SHAPE ${only} ${JSON.stringify(result)}`);
      return await Promise.reject(new Error('SLATE_BENCH_ONLY: no report written'));
    }
    const base = await load(`${baselineUrl}/v1/query/online`, {
      headers: { 'content-type': 'application/json' },
      body: bodyA,
    });
    const a = await load(`${slateUrl}/v1/query/online`, { headers, body: bodyA });
    const b = await load(`${slateUrl}/v1/query/online`, { headers, body: bodyB });
    const c = await load(`${slateUrl}/v1/query/feather`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: bodyC,
    });
    const rssMb = process.memoryUsage().rss / 2 ** 20;

    const figures: BenchFigure[] = [
      {
        name: 'Shape A (100 cached features) QPS',
        value: a.qps,
        unit: 'req/s',
        baseline: base.qps,
        note: 'target ≥ 4,000 and ≥ 0.7× baseline',
      },
      { name: 'Shape A p50', value: a.p50, unit: 'ms', baseline: base.p50 },
      { name: 'Shape A p99', value: a.p99, unit: 'ms', baseline: base.p99, note: 'target ≤ 5 ms' },
      {
        name: 'Shape A server CPU per request',
        value: a.cpuUsPerRequest,
        unit: 'µs',
        baseline: base.cpuUsPerRequest,
        note: 'all server threads; independent of other load on the machine',
      },
      {
        name: 'Shape B (100 computed features) QPS',
        value: b.qps,
        unit: 'req/s',
        baseline: base.qps,
        note: 'target ≥ 2,000',
      },
      { name: 'Shape B p50', value: b.p50, unit: 'ms', baseline: base.p50 },
      { name: 'Shape B p99', value: b.p99, unit: 'ms', baseline: base.p99, note: 'target ≤ 10 ms' },
      {
        name: 'Shape B server CPU per request',
        value: b.cpuUsPerRequest,
        unit: 'µs',
        baseline: base.cpuUsPerRequest,
      },
      {
        name: `Shape C (feather, ${BULK_ENTITIES} entities × ${BULK_FEATURES} features) rows/s`,
        value: c.qps * BULK_ENTITIES,
        unit: 'rows/s',
        baseline: base.qps,
        note: `${Math.round(c.qps).toLocaleString('en-US')} req/s; baseline column: single-entity baseline req/s`,
      },
      {
        name: 'Shape C p99',
        value: c.p99,
        unit: 'ms',
        note: `baseline p99 ${base.p99} ms is for a single-entity request`,
      },
      {
        name: 'Shape C server CPU per row',
        value: c.cpuUsPerRequest / BULK_ENTITIES,
        unit: 'µs',
        baseline: base.cpuUsPerRequest,
        note: 'baseline column: per single-entity baseline request',
      },
      {
        name: 'Data-plane RSS after the run',
        value: rssMb,
        unit: 'MiB',
        note: 'server process incl. 2 resolver workers',
      },
    ];
    return {
      name: 'serving',
      title: 'Serving: online and feather queries over loopback (issue 4)',
      figures,
      notes: notes(a, b, base),
    };
  } finally {
    await app.close();
    await baseline.close();
    await served.close();
    await redis.del(
      ...ids.flatMap((id) => cachedFeatures.map((fqn) => `${keyPrefix}:${ENVIRONMENT}:${fqn}:${id}`)),
    );
    redis.disconnect();
    await onlineStore.close();
  }
}

async function check(
  url: string,
  headers: Record<string, string>,
  body: string,
  ok: (json: Record<string, unknown>) => boolean,
): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || !ok(json))
    throw new Error(`${url} answered ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
}

/** `chal1` + one query: header (20 outputs) and an Arrow stream of 100 entity ids. */
function featherBody(ids: readonly number[], outputs: readonly string[]): Buffer {
  const header = Buffer.from(JSON.stringify({ outputs }));
  const arrow = Buffer.from(
    tableToIPC(tableFromArrays({ 'cached_entity.id': new BigInt64Array(ids.map(BigInt)) }), 'stream'),
  );
  const u64 = (n: number) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(n));
    return bytes;
  };
  return Buffer.concat([Buffer.from('chal1'), u64(header.length), header, u64(arrow.length), arrow]);
}

function notes(a: LoadResult, b: LoadResult, base: LoadResult): string {
  const ratio = (x: number, y: number) => (x / y).toFixed(2);
  return [
    `Setup: ${machine.cores} cores shared by the server (one event loop + 2 resolver worker threads), autocannon (its own process, ${CONNECTIONS} connections, ${SECONDS} s after a 2 s warm-up) and Redis on loopback. Every Slate request carries an EdDSA JWT that the data plane verifies (verified tokens are cached until expiry, at most 60 s). The baseline is a bare Fastify handler doing one MGET of the same 100 Redis keys and answering the same JSON shape, with no auth, no validation, no planning. "Server CPU per request" is the server process's CPU time (all threads) over the measured run divided by the requests answered: unlike QPS it does not depend on what else the machine is running, so it is the figure to compare across runs on a shared machine.`,
    `This run: Shape A ${Math.round(a.qps)} QPS (${ratio(a.qps, base.qps)}× baseline), p99 ${a.p99} ms, ${Math.round(a.cpuUsPerRequest)} µs CPU/request (${ratio(a.cpuUsPerRequest, base.cpuUsPerRequest)}× baseline's ${Math.round(base.cpuUsPerRequest)} µs); Shape B ${Math.round(b.qps)} QPS, p99 ${b.p99} ms, ${Math.round(b.cpuUsPerRequest)} µs CPU/request.`,
    'What bounds Shape A (profile: `SLATE_BENCH_ONLY=A node --cpu-prof --import tsx bench/run.ts serving`, busy time only, 2026-11-26): the engine (planner shape key + plan lookup, executor state and cache read, value coercion) 15%, GC 10%, Fastify + socket writes ~20% (the baseline pays the same), the Redis online store (building 100 keys and decoding the values, since cut to one key prefix per feature and one `JSON.parse` per query) 7% and ioredis 7% (the baseline pays ioredis too), the data plane’s own HTTP layer (auth check, headers, response assembly) 3%, zod request validation 3%, Prometheus 2%. No single hot spot is left in the HTTP layer; the gap to the baseline is the engine’s and the store’s per-query work, spread over many small costs. What would move it: memoizing the planner’s shape key per request body shape and building executor state per plan rather than per feature (`packages/engine`), and precompiling the TypeScript for production (tsx’s `__name` helpers show up in hot closures).',
    'Shape B runs the 25 resolvers in worker threads: every query crosses to a worker and back (calls made in the same tick share one message), so thread hand-offs, structured cloning of inputs and outputs, and the extra threads competing for 2 cores with the event loop and the load generator bound it, not the resolvers (4 multiplications each). What would move it: fewer crossings per query (the plan’s steps are independent here, so one crossing would do), or running trusted pure resolvers in process.',
    `Targets (issue 4): Shape A ≥ 4,000 QPS, p99 ≤ 5 ms, ≥ 0.7× baseline QPS; Shape B ≥ 2,000 QPS, p99 ≤ 10 ms. Load average when the run ended: ${loadavg()[0]!.toFixed(1)} (1-minute); the load generator always shares the 2 cores with the server, so absolute QPS is bounded by the machine, and the ratios and CPU per request are the comparable figures.`,
    'Reproduce: `npm run bench -- serving` (needs Redis at `SLATE_BENCH_REDIS_URL`, default redis://127.0.0.1:6379; `SLATE_BENCH_SECONDS` sets the measured duration; `SLATE_BENCH_ONLY=base|A|B|C` loads one shape and prints it, for profiling).',
  ].join('\n\n');
}
