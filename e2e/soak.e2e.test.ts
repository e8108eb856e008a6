/**
 * A short soak (issue 11): `slate up` serving the quickstart query at full speed over 8 connections for
 * about 30 s. The long run is `npm run soak`; both are judged by `judgeSoak`: RSS after warm-up stays within
 * 1.5× of its value at the end of warm-up, the median per-second throughput of the last window is at least
 * 0.9× that of the first (here 0.7× per CPU second of the server above its idle cost, see below), every answered query's two values
 * reach the offline store, and `slate up` stops on Ctrl-C. Before the fix, memory reached GBs and throughput fell to single digits within 20 s.
 *
 * Windows are sized for a loaded 2-core machine: 8 s of warm-up (JIT, first segment and file rolls), then
 * two 8 s windows compared by their medians, which a neighbour's few-second burst barely moves.
 */
import { describe, expect, it } from 'vitest';
import { judgeSoak, runSoak } from '../bench/soak/run-soak.ts';

const warmupS = 8;
const windowS = 8;

describe('slate up under sustained load', () => {
  it('keeps memory and throughput flat and persists every computed value offline', async () => {
    const run = await runSoak({ durationS: 32, connections: 8, warmupS, windowS, idleS: 5 });
    // Per CPU second of the server above its idle cost: on a machine shared with other test runs, wall-clock
    // QPS follows the neighbours; what a leak or a growing structure changes is the work each query costs.
    // Above idle, because `slate up` spends a fixed ~0.05–0.1 CPU s per second with no query (the metadata
    // plane's pollers on PGlite: 11–49 % of the main thread's profile samples, by how much CPU the process
    // got), which is a small share of a window with the CPU to serve 1,000 QPS and a large one of a window
    // the neighbours starved: a run at load average 26 measured plain per-CPU 741 → 192 (0.26×) while
    // wall-clock QPS fell 218 → 14.5 and RSS stayed at 1.12×.
    // In the suite the ratio bar is 0.7×, not the long soak's 0.9×: 8 s windows beside the rest of the suite
    // on the same 2 cores (persistence catching up with its backlog in the same process also costs CPU late
    // in a short run). Three runs at load average 24–26 measured 1.07×, 1.13× and 2.06× above idle (plain
    // per CPU second 0.71×, 2.51×, 3.42×). 0.7× still fails the collapse this test guards against (0.10×
    // before the fix); `npm run soak` reports 0.9× over minute-long windows.
    const verdict = judgeSoak(run, {
      warmupS,
      windowS,
      throughputBy: 'cpu-above-idle',
      connections: 8,
      throughputRatio: 0.7,
    });
    const summary = {
      ok: run.ok,
      failures: run.failures,
      rss: verdict.rss,
      throughput: verdict.throughput,
      perCpuSecond: verdict.perCpuSecond,
      perBusyCpuSecond: verdict.perBusyCpuSecond,
      idleCpuPerS: run.idleCpuPerS,
      offline: run.offlineRows,
      load: run.machine.loadAfter,
    };
    // The figures, also when it passes: the ratios on this machine are what the bar below is set from.
    console.log(`soak e2e: ${JSON.stringify(summary)}`);
    expect(run.ok, JSON.stringify(summary)).toBeGreaterThan(1_000);
    expect(verdict.reasons, JSON.stringify(summary)).toEqual([]);
    expect(run.stopSeconds, 'slate up stops on Ctrl-C').not.toBeNull();
  }, 300_000);
});
