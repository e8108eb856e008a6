/** The notes under the serving section of BENCHMARKS.md: setup, what bounds each shape, how to reproduce. */
import { machine } from '../report.ts';

export function notes(run: {
  seconds: number;
  rounds: number;
  eSeconds: number;
  workers: number;
  loads: readonly number[];
  summary: string;
}): string {
  const loads = run.loads.map((l) => l.toFixed(1));
  return [
    `Setup: ${machine.cores} cores shared by the server process under test, a private redis-server, autocannon (its own process) and the other idle processes of the run; the machine also runs other work (1-minute load average at the end of each shape's run: ${loads.join(', ')}). Every process under load is a production process: the data plane is \`node dist/data-plane/main.js\` (from \`npm run build\`, ${run.workers} resolver workers, online store in Redis, logs at \`warn\`), with a service token issued by the compiled metadata plane and checked on every request; the bare limit is its own esbuild-compiled process (Fastify, one ioredis MGET of the same 100 keys, the same JSON shape, no auth, no validation, no planning, no metrics). Each run is ${run.seconds} s after a warm-up; the limit and shapes A–D alternate over ${run.rounds} round(s) and each figure is the median (the concurrency sweep's other points: 2 rounds), so a burst of outside load falls on all of them alike; shape E runs once for ${run.eSeconds} s. "CPU per request" is the server process's CPU time (every thread, from /proc) over the run divided by the requests answered: unlike QPS it hardly depends on what else the machine runs, so it is the figure to compare across runs. The concurrency chart is [BENCHMARKS-serving.svg](BENCHMARKS-serving.svg).`,
    run.summary,
    'What bounds each shape, with the profiles behind it: see “Serving: what bounds each shape” below this section (hand-written; the bench does not rewrite it).',
    'Reproduce: `npm run bench -- serving` (about 9 minutes; `--quick` for one round of 3 s runs while iterating). `SLATE_BENCH_ONLY=limit|A|B|C|D` loads one shape and prints it with the server’s CPU per request on its main thread and on its other threads; add `SLATE_BENCH_PROFILE=<dir>` to run the data plane under `node --cpu-prof`.',
  ].join('\n\n');
}
