/**
 * `npm run bench -- serving`: the online query fast path as users run it (issues 4 and 14).
 *
 * Everything under load is a production process: `npm run build` compiles the planes into dist/; the bench
 * starts a private redis-server, the compiled metadata plane (embedded PGlite, the quickstart's seed) and the
 * compiled data plane from its main (online store in that Redis), deploys bench/serving/repo.ts through the
 * API with a real service token, and starts the bare limit — Fastify, one ioredis MGET of the same 100 values,
 * the same JSON shape — bundled with esbuild as its own process. autocannon runs in a process of its own.
 * Shapes:
 * - A: `POST /v1/query/online`, one entity, 100 precomputed features from 25 resolvers, straight to the data plane;
 * - B: the same 100 features computed on every query by TypeScript resolvers in the worker runtime;
 * - C: `POST /v1/query/feather`, 100 entities × 20 features per request (precomputed), in rows/s;
 * - D: A sent to the API host, which forwards it to the data plane;
 * - E: the quickstart's `user.name` + `user.risk_score` on `slate up`'s embedded defaults (its own process).
 * Then A and the limit at 1, 8, 32 and 128 connections, drawn as BENCHMARKS-serving.svg.
 *
 * Shapes A–D and the limit alternate over `SLATE_BENCH_ROUNDS` rounds (default 3) and each figure is the
 * median, so outside load on the shared machine falls on all alike.
 * `--quick` (or `SLATE_BENCH_QUICK=1`): short runs for iteration (one round of 3 s, E 10 s).
 * `SLATE_BENCH_SECONDS` sets each run (default 10), `SLATE_BENCH_E_SECONDS` shape E's (default 60). `SLATE_BENCH_ONLY=limit|A|B|C|D`
 * loads one shape and prints it without writing a report; with `SLATE_BENCH_PROFILE=<dir>` the data plane
 * runs under `node --cpu-prof` and writes its profile there when the bench stops it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { type BenchFigure, type BenchReport, machine } from './report.ts';
import { concurrencyChart } from './serving/chart.ts';
import { type LoadResult, measure, type Target } from './serving/load.ts';
import { BULK_IDS, ENTITY, type Platform, startPlatform, startSlateUp } from './serving/platform.ts';
import { repoRoot, stopAll, threadUsage, usage } from './serving/processes.ts';
import { notes } from './serving/report-notes.ts';

const QUICK = process.argv.includes('--quick') || process.env.SLATE_BENCH_QUICK === '1';
const SECONDS = Number(process.env.SLATE_BENCH_SECONDS ?? (QUICK ? 3 : 10));
const E_SECONDS = Number(process.env.SLATE_BENCH_E_SECONDS ?? (QUICK ? 10 : 60));
const WARMUP = QUICK ? 1 : 2;
const CONNECTIONS = [1, 8, 32, 128] as const;
const BULK_FEATURES = 20;
const WORKERS = 2;
/** Rounds of every shape at 8 connections, and of each other point of the concurrency sweep. */
const ROUNDS = Number(process.env.SLATE_BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const SWEEP_ROUNDS = QUICK ? 1 : 2;

/** Each figure's median over the rounds (QPS, latencies, CPU per request separately); the highest load. */
function medianOf(results: readonly LoadResult[]): LoadResult {
  const median = (pick: (r: LoadResult) => number) => {
    const sorted = results.map(pick).sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  return {
    qps: median((r) => r.qps),
    p50: median((r) => r.p50),
    p99: median((r) => r.p99),
    total: results.reduce((sum, r) => sum + r.total, 0),
    cpuUsPerRequest: median((r) => r.cpuUsPerRequest),
    load: Math.max(...results.map((r) => r.load)),
  };
}

/** `chal1` + one query: header (the outputs) and an Arrow stream of the entity ids. */
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

/** Sends `target` once and throws unless it answers 200 with what `ok` expects. */
async function check(target: Target, ok: (json: Record<string, unknown>) => boolean): Promise<void> {
  const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body });
  const text = await response.text();
  if (response.status !== 200 || !ok(JSON.parse(text)))
    throw new Error(`${target.url} answered ${response.status} ${text.slice(0, 300)}`);
}

/** Polls `target` until the deployment serves it as `ok` expects (the data plane fetches it after deploy). */
async function untilServed(target: Target, ok: (json: Record<string, unknown>) => boolean): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return await check(target, ok);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The data plane's used heap, from its internal metrics listener, in MiB. */
async function heapMb(platform: Platform): Promise<number> {
  const text = await (await fetch(platform.dataPlaneMetrics)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
}

function targets(platform: Platform) {
  const headers = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
  const online = `${platform.dataPlaneUrl}/v1/query/online`;
  const bodyA = JSON.stringify({ inputs: { 'cached_entity.id': ENTITY }, outputs: platform.cachedFeatures });
  return {
    limit: {
      url: `${platform.limitUrl}/v1/query/online`,
      headers: { 'content-type': 'application/json' },
      body: bodyA,
    },
    A: { url: online, headers, body: bodyA },
    B: {
      url: online,
      headers,
      body: JSON.stringify({ inputs: { 'live_entity.id': ENTITY }, outputs: platform.liveFeatures }),
    },
    C: {
      url: `${platform.dataPlaneUrl}/v1/query/feather`,
      headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/octet-stream' },
      body: featherBody(BULK_IDS, platform.cachedFeatures.slice(0, BULK_FEATURES)),
    },
    D: { url: `${platform.apiServer}/v1/query/online`, headers, body: bodyA },
  } satisfies Record<string, Target>;
}

const valuesA = (body: Record<string, unknown>) => {
  const data = body.data as { value: unknown }[];
  return data.length === 100 && data.every((d, n) => d.value === ENTITY * 0.5 + n);
};

export async function run(): Promise<BenchReport> {
  const profileDir = process.env.SLATE_BENCH_PROFILE;
  try {
    const platform = await startPlatform({
      workers: WORKERS,
      nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    });
    const t = targets(platform);
    await untilServed(t.A, valuesA);
    await check(t.B, (body) => {
      const data = body.data as { value: unknown }[];
      return (
        data.length === 100 && data[5]!.value === ENTITY * 2.5 + 1 && (body.errors as unknown[]).length === 0
      );
    });
    await check(t.limit, valuesA);
    await untilServed(t.D, valuesA);

    const dp = [platform.dataPlane.pid];
    const at = (target: Target, connections: number, pids: readonly number[], seconds = SECONDS) =>
      measure(target, { connections, seconds, warmupSeconds: WARMUP, serverPids: pids });

    const only = process.env.SLATE_BENCH_ONLY as keyof typeof t | undefined;
    if (only) {
      const pid = only === 'limit' ? platform.limit.pid : platform.dataPlane.pid;
      const threadsBefore = threadUsage(pid);
      const result = await at(t[only], 8, [pid]);
      const threads = [...threadUsage(pid)].map(([name, us]) => [
        name,
        Math.round((us - (threadsBefore.get(name) ?? 0)) / Math.max(1, result.total)),
      ]);
      console.log(`SHAPE ${only} ${JSON.stringify(result)}`);
      // Includes the warm-up's requests' CPU over the measured count: compare threads with each other.
      console.log(`THREADS µs/request ${JSON.stringify(Object.fromEntries(threads))}`);
      throw new Error('SLATE_BENCH_ONLY: no report written');
    }

    const heapBefore = await heapMb(platform);
    // Shapes alternate round after round, so a burst of outside load falls on all of them alike; each
    // figure is the median over the rounds.
    const runs: Record<'limit' | 'A' | 'B' | 'C' | 'D', LoadResult[]> = {
      limit: [],
      A: [],
      B: [],
      C: [],
      D: [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      runs.limit.push(await at(t.limit, 8, [platform.limit.pid]));
      runs.A.push(await at(t.A, 8, dp));
      runs.B.push(await at(t.B, 8, dp));
      runs.C.push(await at(t.C, 8, dp));
      runs.D.push(await at(t.D, 8, [platform.dataPlane.pid, platform.metadataPlane.pid]));
    }
    const [limit, a, b, c, d] = (['limit', 'A', 'B', 'C', 'D'] as const).map((k) => medianOf(runs[k])) as [
      LoadResult,
      LoadResult,
      LoadResult,
      LoadResult,
      LoadResult,
    ];
    const sweep = new Map<number, { limit: LoadResult; a: LoadResult }>([[8, { limit, a }]]);
    for (const n of CONNECTIONS) {
      if (n === 8) continue;
      const pairs = { limit: [] as LoadResult[], a: [] as LoadResult[] };
      for (let round = 0; round < SWEEP_ROUNDS; round++) {
        pairs.limit.push(await at(t.limit, n, [platform.limit.pid]));
        pairs.a.push(await at(t.A, n, dp));
      }
      sweep.set(n, { limit: medianOf(pairs.limit), a: medianOf(pairs.a) });
    }
    const dpRss = usage(platform.dataPlane.pid).rssMb;
    const heapAfter = await heapMb(platform);
    const served = [a, b, c, d, ...[...sweep.entries()].filter(([n]) => n !== 8).map(([, s]) => s.a)].reduce(
      (sum, r) => sum + r.total,
      0,
    );
    await stopAll();

    const e = await shapeE();
    const chart = concurrencyChart(
      CONNECTIONS,
      [
        {
          label: 'bare limit',
          color: '#888888',
          qps: CONNECTIONS.map((n) => sweep.get(n)!.limit.qps),
          p50: CONNECTIONS.map((n) => sweep.get(n)!.limit.p50),
          p99: CONNECTIONS.map((n) => sweep.get(n)!.limit.p99),
        },
        {
          label: 'Slate shape A',
          color: '#1f6feb',
          qps: CONNECTIONS.map((n) => sweep.get(n)!.a.qps),
          p50: CONNECTIONS.map((n) => sweep.get(n)!.a.p50),
          p99: CONNECTIONS.map((n) => sweep.get(n)!.a.p99),
        },
      ],
      `${new Date().toISOString().slice(0, 10)}, ${machine.cores} cores shared with Redis and autocannon, ${SECONDS} s per point, load average ${limit.load.toFixed(1)}–${a.load.toFixed(1)}`,
    );
    writeFileSync(join(repoRoot, 'BENCHMARKS-serving.svg'), chart);

    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
    const figures: BenchFigure[] = [
      {
        name: 'Bare limit QPS (8 connections)',
        value: limit.qps,
        unit: 'req/s',
        note: `p50 ${limit.p50} / p99 ${limit.p99} ms, ${Math.round(limit.cpuUsPerRequest)} µs CPU/request`,
      },
      {
        name: 'Shape A QPS',
        value: a.qps,
        unit: 'req/s',
        baseline: limit.qps,
        note: 'target ≥ 0.8× the limit',
      },
      { name: 'Shape A p50', value: a.p50, unit: 'ms', baseline: limit.p50 },
      { name: 'Shape A p99', value: a.p99, unit: 'ms', baseline: limit.p99, note: 'target ≤ 5 ms' },
      {
        name: 'Shape A server CPU per request',
        value: a.cpuUsPerRequest,
        unit: 'µs',
        baseline: limit.cpuUsPerRequest,
        note: 'target ≤ 1.3× the limit; all threads of the process',
      },
      {
        name: 'Shape B (computed in workers) QPS',
        value: b.qps,
        unit: 'req/s',
        baseline: limit.qps,
        note: 'target ≥ 0.6× the limit',
      },
      {
        name: 'Shape B p99',
        value: b.p99,
        unit: 'ms',
        baseline: limit.p99,
        note: `target ≤ 8 ms; p50 ${b.p50} ms`,
      },
      {
        name: 'Shape B server CPU per request',
        value: b.cpuUsPerRequest,
        unit: 'µs',
        baseline: limit.cpuUsPerRequest,
      },
      {
        name: `Shape C (feather, ${BULK_IDS.length} × ${BULK_FEATURES}) rows/s`,
        value: c.qps * BULK_IDS.length,
        unit: 'rows/s',
        note: `target ≥ 50,000; ${Math.round(c.qps)} req/s, p99 ${c.p99} ms, ${(c.cpuUsPerRequest / BULK_IDS.length).toFixed(1)} µs CPU/row`,
      },
      {
        name: 'Shape D (A through the API host) QPS',
        value: d.qps,
        unit: 'req/s',
        baseline: a.qps,
        note: 'baseline: shape A straight to the data plane',
      },
      { name: 'Shape D p50', value: d.p50, unit: 'ms', baseline: a.p50 },
      { name: 'Shape D p99', value: d.p99, unit: 'ms', baseline: a.p99 },
      {
        name: 'Shape D CPU per request (both planes)',
        value: d.cpuUsPerRequest,
        unit: 'µs',
        baseline: a.cpuUsPerRequest,
      },
      {
        name: `Shape E (slate up quickstart, 8 connections, ${E_SECONDS} s) QPS`,
        value: e.result.qps,
        unit: 'req/s',
        baseline: a.qps,
        note: 'target ≥ 0.5× shape A; baseline: shape A',
      },
      { name: 'Shape E p99', value: e.result.p99, unit: 'ms', note: `p50 ${e.result.p50} ms` },
      {
        name: 'Shape E RSS at start → end of the run',
        value: e.rssAfter,
        unit: 'MiB',
        baseline: e.rssBefore,
        note: 'slate up (both planes in one process); ratio near 1 = flat',
      },
      {
        name: 'Data-plane RSS after every shape',
        value: dpRss,
        unit: 'MiB',
        note: `incl. ${WORKERS} resolver workers; ${served.toLocaleString('en-US')} queries served`,
      },
      {
        name: 'Data-plane used heap: before → after the runs',
        value: heapAfter,
        unit: 'MiB',
        baseline: heapBefore,
      },
      ...CONNECTIONS.flatMap((n) => {
        const s = sweep.get(n)!;
        return [
          { name: `${n} connections: QPS`, value: s.a.qps, unit: 'req/s', baseline: s.limit.qps },
          {
            name: `${n} connections: p50 / p99`,
            value: s.a.p99,
            unit: 'ms p99',
            baseline: s.limit.p99,
            note: `p50 ${s.a.p50} ms vs ${s.limit.p50} ms`,
          },
        ];
      }),
    ];
    return {
      name: 'serving',
      title: 'Serving: the online query fast path on the production process (issues 4 and 14)',
      figures,
      notes: notes({
        seconds: SECONDS,
        rounds: ROUNDS,
        eSeconds: E_SECONDS,
        workers: WORKERS,
        loads: [limit, a, b, c, d, e.result].map((r) => r.load),
        summary: `This run: A ${ratio(a.qps, limit.qps)} the limit's QPS, ${ratio(a.cpuUsPerRequest, limit.cpuUsPerRequest)} its CPU per request; B ${ratio(b.qps, limit.qps)}; D’s p50 and p99 minus A’s: ${(d.p50 - a.p50).toFixed(1)} and ${(d.p99 - a.p99).toFixed(1)} ms (negative = outside load moved between the runs); E ${ratio(e.result.qps, a.qps)} shape A.`,
      }),
    };
  } finally {
    await stopAll();
  }
}

/** Shape E: `slate up` on embedded defaults, the quickstart query, 8 connections, RSS before and after. */
async function shapeE(): Promise<{ result: LoadResult; rssBefore: number; rssAfter: number }> {
  const { up, dataPlaneUrl, token } = await startSlateUp();
  const target: Target = {
    url: `${dataPlaneUrl}/v1/query/online`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: { 'user.id': 1 }, outputs: ['user.name', 'user.risk_score'] }),
  };
  await check(
    target,
    (body) =>
      (body.data as unknown[]).length === 2 && ((body.errors as unknown[] | undefined) ?? []).length === 0,
  );
  await measure(target, { connections: 8, seconds: WARMUP, warmupSeconds: 0, serverPids: [up.pid] });
  const rssBefore = usage(up.pid).rssMb;
  const result = await measure(target, {
    connections: 8,
    seconds: E_SECONDS,
    warmupSeconds: 0,
    serverPids: [up.pid],
  });
  const rssAfter = usage(up.pid).rssMb;
  await stopAll();
  return { result, rssBefore, rssAfter };
}
