/**
 * A diagnostics probe for the soak, loaded into `slate up` with `node --import` (run-soak's `probe` option):
 * every 2 s it appends one JSON line to `$SLATE_SOAK_PROBE` with `process.memoryUsage()` (rss, V8 heap,
 * external, array buffers) and the V8 heap spaces, so a run can tell JS-heap growth from native growth
 * (DuckDB, LMDB, the allocator). With `$SLATE_SOAK_CPU_PROFILE="<from>-<to>[,<from>-<to>]"` (seconds after
 * start) it also writes a CPU profile of each window next to that file, to open in Chrome DevTools.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

// Worker threads inherit `--import`: only the main thread of the process `slate up` started samples.
const file = isMainThread && !process.env.SLATE_SOAK_PROBE_PID ? process.env.SLATE_SOAK_PROBE : undefined;
if (file) {
  // Child processes inherit the environment: mark it so they do not write to the same file.
  process.env.SLATE_SOAK_PROBE_PID = String(process.pid);
  const started = Date.now();
  const sample = () => {
    const memory = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    const cpu = process.cpuUsage();
    appendFileSync(
      file,
      `${JSON.stringify({ t: (Date.now() - started) / 1000, ...memory, spaces, cpuUser: cpu.user, cpuSystem: cpu.system })}\n`,
    );
  };
  setInterval(sample, 2_000).unref();
  const windows = (process.env.SLATE_SOAK_CPU_PROFILE ?? '')
    .split(',')
    .filter(Boolean)
    .map((w) => w.split('-').map(Number));
  if (windows.length > 0) {
    const session = new Session();
    session.connect();
    const post = (method, params = {}) =>
      new Promise((resolve, reject) =>
        session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
      );
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 1000 });
    for (const [from, to] of windows) {
      setTimeout(() => void post('Profiler.start'), from * 1000).unref();
      setTimeout(async () => {
        const { profile } = await post('Profiler.stop');
        writeFileSync(`${file}.${from}-${to}.cpuprofile`, JSON.stringify(profile));
      }, to * 1000).unref();
    }
  }
}
