/**
 * One measured load run for `npm run bench -- serving`: autocannon in its own process (`load.mjs`), and the
 * CPU the server processes spent meanwhile, read from /proc so it counts every thread of another process.
 */
import { loadavg } from 'node:os';
import { autocannon } from './autocannon.ts';
import { usage } from './processes.ts';

/** What one run measured. */
export interface LoadResult {
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  /** The server processes' CPU time (all threads) over the run divided by the requests answered, µs. */
  readonly cpuUsPerRequest: number;
  /** The machine's 1-minute load average when the run ended. */
  readonly load: number;
}

/** A request autocannon repeats: JSON text or binary bytes. */
export interface Target {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

/**
 * Warms `target` up for `warmupSeconds`, then loads it with `connections` for `seconds` while measuring the
 * CPU of `serverPids`. Throws when any answer is not 2xx: a fast error is not a figure.
 */
export async function measure(
  target: Target,
  options: { connections: number; seconds: number; warmupSeconds: number; serverPids: readonly number[] },
): Promise<LoadResult> {
  const common = {
    url: target.url,
    headers: target.headers,
    connections: options.connections,
    ...(typeof target.body === 'string'
      ? { body: target.body }
      : { bodyBase64: target.body.toString('base64') }),
  };
  if (options.warmupSeconds > 0) await autocannon({ ...common, duration: options.warmupSeconds });
  const cpu = () => options.serverPids.reduce((sum, pid) => sum + usage(pid).cpuUs, 0);
  const before = cpu();
  const run = await autocannon({ ...common, duration: options.seconds });
  const spent = cpu() - before;
  const bad = run.non2xx + run.errors;
  if (bad > 0) throw new Error(`${target.url}: ${bad} failed answers under load`);
  return {
    qps: run.qps,
    p50: run.p50,
    p99: run.p99,
    total: run.total,
    cpuUsPerRequest: spent / Math.max(1, run.total),
    load: loadavg()[0]!,
  };
}
