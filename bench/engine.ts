/**
 * `npm run bench -- engine`: the online query engine in process, on the shape of the seed product's
 * published benchmark: 100 features produced by 25 resolvers (4 outputs each) for one entity.
 *
 * Scenarios, each a sequential stream of single-entity queries for all 100 features after a warm-up:
 * - cached: every value is in the online store (max staleness "infinity"), on the memory store, on the
 *   embedded LMDB store, on Redis, and on the LRU tier over Redis;
 * - computed: max staleness 0, the 25 TypeScript resolvers run on every query, through the in-process
 *   runtime and through the worker-thread runtime (the data plane's isolation).
 * The baseline, measured in the same run: a bare ioredis MGET of the same 100 keys Redis holds for the
 * cached scenario (the floor any Redis-backed engine pays).
 *
 * Figures: p50 and p99 latency, and queries per CPU-second of this process (user + system time, worker
 * threads included; Redis's own CPU is not counted, for Slate or the baseline). Plans built per shape
 * are counted: a repeated shape must plan once. `BENCH_QUERIES` (default 3,000) sets queries per scenario.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createEngine,
  createInProcessRuntime,
  createLruOnlineStore,
  createWorkerRuntime,
  type Engine,
} from '@slate/engine';
import { collectGraph, type ResolverFunction } from '@slate/sdk';
import {
  createLmdbOnlineStore,
  createMemoryOnlineStore,
  createRedisOnlineStore,
  type OnlineStore,
} from '@slate/stores';
import { isReachable, testServices } from '@slate/testing';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { type BenchFigure, type BenchReport, machine } from './report.ts';

const QUERIES = Number(process.env.BENCH_QUERIES ?? 3_000);
const WARMUP = Math.max(100, Math.round(QUERIES / 10));
const ROUNDS = 10;
const FEATURES = 100;
const RESOLVERS = 25;
const PER_RESOLVER = FEATURES / RESOLVERS;

/**
 * The feature repository, generated: two namespaces of the same shape, one cached forever and one never
 * cached. Bundled with esbuild so the in-process and worker runtimes run the very same code.
 */
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const resolverExports = ['cached_user', 'computed_user'].flatMap((namespace) =>
  Array.from(
    { length: RESOLVERS },
    (_, r) =>
      `export const ${namespace}_r${pad(r, 2)} = resolver(${namespace === 'cached_user' ? 'CachedUser' : 'ComputedUser'}, ${r});`,
  ),
);
const repositorySource = `
import { features, float, int, online } from '@slate/sdk';

function entity(namespace, maxStaleness) {
  const fields = { id: int() };
  for (let f = 0; f < ${FEATURES}; f++) fields['f' + String(f).padStart(3, '0')] = float().maxStaleness(maxStaleness);
  return features(namespace, fields);
}

/** Resolver r of an entity: takes the primary key, returns ${PER_RESOLVER} features. */
function resolver(Entity, r) {
  const outputs = {};
  for (let k = 0; k < ${PER_RESOLVER}; k++) {
    const name = 'f' + String(r * ${PER_RESOLVER} + k).padStart(3, '0');
    outputs[name] = Entity[name];
  }
  const names = Object.keys(outputs);
  return online({
    inputs: { id: Entity.id },
    outputs,
    fn: ({ id }) => {
      const result = {};
      for (let k = 0; k < names.length; k++) result[names[k]] = id * 1000 + r * 10 + k + 0.5;
      return result;
    },
  });
}

export const CachedUser = entity('cached_user', 'infinity');
export const ComputedUser = entity('computed_user', '0s');
${resolverExports.join('\n')}
`;

interface Measured {
  readonly p50: number;
  readonly p99: number;
  readonly perCpuSecond: number;
  readonly perSecond: number;
}

const percentile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** Latencies and CPU time of one scenario, gathered over several rounds. */
class Sampler {
  readonly latencies: number[] = [];
  cpuMicros = 0;
  wallMs = 0;

  constructor(readonly once: () => Promise<void>) {}

  async warm(): Promise<void> {
    for (let i = 0; i < WARMUP; i++) await this.once();
  }

  async round(count: number): Promise<void> {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await this.once();
      this.latencies.push(performance.now() - t);
    }
    this.wallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    this.cpuMicros += used.user + used.system;
  }

  result(): Measured {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      perCpuSecond: sorted.length / (this.cpuMicros / 1e6),
      perSecond: sorted.length / (this.wallMs / 1000),
    };
  }
}

/**
 * Measures every sampler in interleaved rounds (baseline, then each scenario, again and again), so load
 * from elsewhere on a shared machine falls on all of them alike rather than on whichever ran then.
 */
async function measureInterleaved(samplers: readonly Sampler[]): Promise<void> {
  for (const sampler of samplers) await sampler.warm();
  const perRound = Math.max(1, Math.floor(QUERIES / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) for (const sampler of samplers) await sampler.round(perRound);
}

export async function run(): Promise<BenchReport> {
  if (!(await isReachable(testServices.redisUrl)))
    throw new Error(`the engine benchmark needs Redis at ${testServices.redisUrl}`);
  const folder = await mkdtemp(join(tmpdir(), 'slate-bench-engine-'));
  const keyPrefix = `slate-bench-${randomUUID()}`;
  const environment = 'bench';
  const admin = new Redis(testServices.redisUrl);
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const bundle = await build({
      stdin: {
        contents: repositorySource,
        resolveDir: fileURLToPath(new URL('..', import.meta.url)),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
    });
    const bundlePath = join(folder, 'repository.mjs');
    await writeFile(bundlePath, bundle.outputFiles[0]!.contents);
    const repository = (await import(pathToFileURL(bundlePath).href)) as Record<string, unknown>;
    const { artifact, functions } = collectGraph(repository);
    const outputsOf = (namespace: string) =>
      Array.from({ length: FEATURES }, (_, f) => `${namespace}.f${String(f).padStart(3, '0')}`);
    const cachedOutputs = outputsOf('cached_user');
    const computedOutputs = outputsOf('computed_user');

    const engineOn = (
      onlineStore: OnlineStore | undefined,
      runtime = createInProcessRuntime(functions as ReadonlyMap<string, ResolverFunction>),
    ) => createEngine({ graph: artifact, runtime, onlineStore, environment, deploymentId: 'bench' });
    const queryOf = (engine: Engine, namespace: string, outputs: readonly string[]) => {
      let id = 0;
      return async () => {
        // The same entity every time: the cached scenarios read one entity's 100 values.
        const result = await engine.query({ inputs: { [`${namespace}.id`]: [1] }, outputs });
        id++;
        if (result.errors.length > 0) throw new Error(`query ${id} failed: ${result.errors[0]!.message}`);
      };
    };

    // Stores. Redis is filled by one real query, so the baseline reads exactly the keys the engine reads.
    const memory = createMemoryOnlineStore();
    const lmdb = createLmdbOnlineStore({ path: join(folder, 'online') });
    await lmdb.init();
    closers.push(() => lmdb.close());
    const redis = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
    await redis.init();
    closers.push(() => redis.close());
    const lruRedis = createLruOnlineStore(createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix }), {
      maxEntries: 10_000,
      ttlMs: 60_000,
    });
    await lruRedis.init();
    closers.push(() => lruRedis.close());

    const cachedMemory = engineOn(memory);
    const cachedLmdb = engineOn(lmdb);
    const cachedRedis = engineOn(redis);
    const cachedLru = engineOn(lruRedis);
    for (const engine of [cachedMemory, cachedLmdb, cachedRedis])
      await queryOf(engine, 'cached_user', cachedOutputs)();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await admin.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1_000);
      cursor = next;
      keys.push(...page);
    } while (cursor !== '0');
    if (keys.length !== FEATURES)
      throw new Error(`expected ${FEATURES} cached keys in Redis, found ${keys.length}`);

    const baselineClient = new Redis(testServices.redisUrl);
    closers.push(() => baselineClient.quit());
    const baselineSampler = new Sampler(async () => {
      const values = await baselineClient.mget(keys);
      // Decode as the store does, so the baseline is a usable read, not just bytes on a socket.
      for (const value of values) if (value !== null) JSON.parse(value);
    });

    const planner = (engine: Engine) => engine.planner as { plansBuilt: number };
    const scenarios: {
      name: string;
      note: string;
      engine: Engine;
      namespace: string;
      outputs: readonly string[];
    }[] = [
      {
        name: 'cached, memory store',
        note: 'all 100 values from the in-process memory store',
        engine: cachedMemory,
        namespace: 'cached_user',
        outputs: cachedOutputs,
      },
      {
        name: 'cached, LMDB store',
        note: 'all 100 values from the embedded LMDB store on disk (the `slate up` default)',
        engine: cachedLmdb,
        namespace: 'cached_user',
        outputs: cachedOutputs,
      },
      {
        name: 'cached, Redis',
        note: 'one MGET of 100 keys per query, as the baseline',
        engine: cachedRedis,
        namespace: 'cached_user',
        outputs: cachedOutputs,
      },
      {
        name: 'cached, LRU tier over Redis',
        note: 'in-process LRU (60 s) in front of Redis',
        engine: cachedLru,
        namespace: 'cached_user',
        outputs: cachedOutputs,
      },
      {
        name: 'computed, in-process runtime',
        note: '25 TS resolvers run per query, same thread',
        engine: engineOn(redis),
        namespace: 'computed_user',
        outputs: computedOutputs,
      },
    ];
    const workerRuntime = await createWorkerRuntime({ bundlePath, workers: 1 });
    const workerEngine = engineOn(redis, workerRuntime);
    closers.push(() => workerEngine.close());
    scenarios.push({
      name: 'computed, worker runtime',
      note: '25 TS resolvers per query in a worker thread (the data plane’s isolation); CPU includes the worker',
      engine: workerEngine,
      namespace: 'computed_user',
      outputs: computedOutputs,
    });

    const samplers = scenarios.map(
      (scenario) => new Sampler(queryOf(scenario.engine, scenario.namespace, scenario.outputs)),
    );
    const plansBefore: number[] = [];
    for (const [i, scenario] of scenarios.entries()) {
      await samplers[i]!.once(); // plans the shape: the one plan it should ever need
      plansBefore.push(planner(scenario.engine).plansBuilt);
    }
    await measureInterleaved([baselineSampler, ...samplers]);
    const baseline = baselineSampler.result();

    const figures: BenchFigure[] = [
      {
        name: 'baseline: bare ioredis MGET of the 100 keys, p50',
        value: baseline.p50,
        unit: 'ms',
        note: `p99 ${baseline.p99.toFixed(2)} ms; ${Math.round(baseline.perCpuSecond).toLocaleString('en-US')} MGETs per CPU-second, ${Math.round(baseline.perSecond).toLocaleString('en-US')}/s wall-clock`,
      },
    ];
    const plans: string[] = [];
    for (const [i, scenario] of scenarios.entries()) {
      const measured = samplers[i]!.result();
      const built = planner(scenario.engine).plansBuilt - plansBefore[i]!;
      plans.push(
        `${scenario.name}: ${built} plan(s) built for ${samplers[i]!.latencies.length + WARMUP} queries of one shape`,
      );
      if (built !== 0)
        throw new Error(`${scenario.name}: a repeated query shape was planned again (${built} plans)`);
      figures.push(
        {
          name: `${scenario.name}: p50`,
          value: measured.p50,
          unit: 'ms',
          baseline: baseline.p50,
          note: scenario.note,
        },
        { name: `${scenario.name}: p99`, value: measured.p99, unit: 'ms', baseline: baseline.p99 },
        {
          name: `${scenario.name}: queries per CPU-second`,
          value: measured.perCpuSecond,
          unit: 'q/s',
          baseline: baseline.perCpuSecond,
          note: `${Math.round(measured.perSecond).toLocaleString('en-US')} q/s wall-clock, sequential`,
        },
      );
    }
    figures.push({
      name: 'plans built per repeated shape (after the first query)',
      value: 0,
      unit: 'plans',
      note: 'engine.planner.plansBuilt did not move while each scenario ran',
    });

    return {
      name: 'engine',
      title: 'Online query engine: 100 features from 25 resolvers for one entity',
      figures,
      notes: [
        `Setup: one process on ${machine.cores} cores, Redis on the same machine (loopback), load average ${loadavg()[0]!.toFixed(1)} when the run ended (the machine is shared). ${QUERIES.toLocaleString('en-US')} sequential queries per scenario after ${WARMUP} warm-up queries, measured in ${ROUNDS} interleaved rounds (baseline, then each scenario, in turn) so outside load falls on all alike; every query asks for all 100 features of one entity.`,
        'The graph is generated: 100 float features, 25 online resolvers of 4 outputs each taking the primary key (the seed product\'s published benchmark shape). "cached" gives every feature max staleness "infinity" and fills the store with one query first; "computed" gives max staleness 0 so every resolver runs.',
        "Baseline: a bare ioredis `MGET` of the same 100 keys, decoding each value, on its own connection. The ratios say what the engine adds on top of the one round trip it cannot avoid. Queries per CPU-second count this process only (the worker thread included); Redis's CPU is not counted for either side.",
        `Plan cache: ${plans.join('; ')}.`,
        `Reproduce: \`npm run bench -- engine\` (Redis at ${testServices.redisUrl}; \`BENCH_QUERIES\` to change the count).`,
      ].join('\n\n'),
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    let cursor = '0';
    do {
      const [next, page] = await admin.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (page.length > 0) await admin.unlink(page);
    } while (cursor !== '0');
    await admin.quit();
    await rm(folder, { recursive: true, force: true });
  }
}
