/**
 * `npm run bench -- metric-rollups`: what the per-minute metric rollups (issue 17, ADR 0020) cost per
 * online query, with and without them in the same run. The engine is the real one, in process, on the seed
 * product's benchmark shape (100 features of one entity from 25 resolvers): cached (memory online store,
 * every value read from the store) and computed (the 25 resolvers run on every query, in-process runtime).
 * "With" wraps the engine as the data plane does (`rollups.wrapLoader` for the query, its latency sketch,
 * the 100 features' counts, nulls, value summaries and cache hits; `rollups.instrumentRuntime` for each
 * resolver call); "without" is the bare engine. Rounds alternate, so outside load falls on both alike.
 * The rollups flush into a reporter that drops the reports (the HTTP send happens every 30 s, off the path).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMetricRollups } from '@slate/data-plane';
import { createEngine, createInProcessRuntime, type Engine } from '@slate/engine';
import { collectGraph, type ResolverFunction } from '@slate/sdk';
import { createMemoryOnlineStore } from '@slate/stores';
import { build } from 'esbuild';
import { type BenchFigure, type BenchReport, machine } from './report.ts';

const QUERIES = Number(process.env.BENCH_QUERIES ?? 20_000);
const ROUNDS = 10;
const FEATURES = 100;
const RESOLVERS = 25;
const PER = FEATURES / RESOLVERS;

const source = `
import { features, float, int, online } from '@slate/sdk';
function entity(namespace, maxStaleness) {
  const fields = { id: int() };
  for (let f = 0; f < ${FEATURES}; f++) fields['f' + String(f).padStart(3, '0')] = float().maxStaleness(maxStaleness);
  return features(namespace, fields);
}
function resolver(Entity, r) {
  const outputs = {};
  for (let k = 0; k < ${PER}; k++) { const name = 'f' + String(r * ${PER} + k).padStart(3, '0'); outputs[name] = Entity[name]; }
  const names = Object.keys(outputs);
  return online({ inputs: { id: Entity.id }, outputs, fn: ({ id }) => {
    const result = {};
    for (let k = 0; k < names.length; k++) result[names[k]] = id * 1000 + r * 10 + k + 0.5;
    return result;
  } });
}
export const CachedUser = entity('cached_user', 'infinity');
export const ComputedUser = entity('computed_user', '0s');
${Array.from({ length: RESOLVERS }, (_, r) => `export const c_r${r} = resolver(CachedUser, ${r});\nexport const p_r${r} = resolver(ComputedUser, ${r});`).join('\n')}
`;

class Sampler {
  cpuMicros = 0;
  count = 0;
  constructor(readonly once: () => Promise<void>) {}
  async round(n: number) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) await this.once();
    const used = process.cpuUsage(cpu);
    this.cpuMicros += used.user + used.system;
    this.count += n;
  }
  perQuery() {
    return this.cpuMicros / this.count;
  }
}

export async function run(): Promise<BenchReport> {
  const folder = await mkdtemp(join(tmpdir(), 'slate-bench-rollups-'));
  try {
    const bundle = await build({
      stdin: { contents: source, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
    });
    const path = join(folder, 'repository.mjs');
    await writeFile(path, bundle.outputFiles[0]!.contents);
    const { artifact, functions } = collectGraph(
      (await import(pathToFileURL(path).href)) as Record<string, unknown>,
    );
    const outputs = (ns: string) =>
      Array.from({ length: FEATURES }, (_, f) => `${ns}.f${String(f).padStart(3, '0')}`);
    const rollups = createMetricRollups();
    rollups.start(async () => undefined, 'bench');
    const engines = async (withRollups: boolean) => {
      const runtime = createInProcessRuntime(functions as ReadonlyMap<string, ResolverFunction>);
      const onlineStore = createMemoryOnlineStore();
      const make = async () =>
        createEngine({
          graph: artifact,
          runtime: withRollups ? rollups.instrumentRuntime(runtime, 'bench') : runtime,
          onlineStore,
          environment: 'bench',
          deploymentId: 'bench',
        });
      if (!withRollups) return make();
      const load = rollups.wrapLoader(make as never);
      return (await load({ id: 'bench' } as never, {} as never, {} as never)) as unknown as Engine;
    };
    const queryOf = (engine: Engine, ns: string) => {
      const out = outputs(ns);
      return async () => {
        const result = await engine.query({
          inputs: { [`${ns}.id`]: [1] },
          outputs: out,
          labels: { queryName: 'bench' },
        });
        if (result.errors.length > 0) throw new Error(result.errors[0]!.message);
      };
    };
    const bare = await engines(false);
    const wrapped = await engines(true);
    const scenarios = [
      { name: 'cached (memory store)', ns: 'cached_user' },
      { name: 'computed (25 resolvers)', ns: 'computed_user' },
    ].map((s) => ({
      ...s,
      without: new Sampler(queryOf(bare, s.ns)),
      with: new Sampler(queryOf(wrapped, s.ns)),
    }));
    for (const s of scenarios)
      for (const sampler of [s.without, s.with]) for (let i = 0; i < 500; i++) await sampler.once();
    const per = Math.floor(QUERIES / ROUNDS);
    for (let round = 0; round < ROUNDS; round++)
      for (const s of scenarios) {
        await s.without.round(per);
        await s.with.round(per);
      }
    await rollups.stop();
    const figures: BenchFigure[] = scenarios.flatMap((s) => [
      {
        name: `${s.name}: CPU per query with rollups`,
        value: s.with.perQuery(),
        unit: 'µs',
        baseline: s.without.perQuery(),
        note: `added ${(s.with.perQuery() - s.without.perQuery()).toFixed(1)} µs per query; baseline = same engine without rollups`,
      },
    ]);
    const load = loadavg()[0]!.toFixed(1);
    return {
      name: 'metric-rollups',
      title: 'Metric rollups: cost per query',
      figures,
      notes: `What the per-minute metric rollups (issue 17) add to an online query: the real engine in process, one entity, all 100 features of the seed product's benchmark shape, ${QUERIES.toLocaleString('en-US')} queries per scenario and variant in ${ROUNDS} alternating rounds; CPU is this process's user + system time over the queries. "With rollups" is the data plane's wrapping: the query's count, error flag and latency sketch, per feature its count, nulls, numeric sum/min/max and cache hits; per resolver call its count and latency sketch (25 calls in the computed scenario). Reports are handed to a no-op reporter (the HTTP send every 30 s is off the query path). 1-minute load average at the end: ${load} on ${machine.cores} cores.`,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
