/** autocannon in its own process (bench/serving/load.mjs), so the load never shares a server's event loop. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One load run's figures. */
export interface LoadRun {
  readonly total: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  /** The load generator's own CPU over the run, in ms. */
  readonly loadCpuMs: number;
}

/**
 * Runs autocannon with `options` (url: one URL or several, whose connections take them in turn; headers,
 * body, connections, duration in s) and resolves with its figures.
 */
export function autocannon(options: Record<string, unknown>): Promise<LoadRun> {
  const script = fileURLToPath(new URL('./load.mjs', import.meta.url));
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
        total: json.requests.total,
        qps: json.requests.average,
        p50: json.latency.p50,
        p99: json.latency.p99,
        non2xx: json.non2xx,
        errors: json.errors + json.timeouts,
        loadCpuMs: json.loadCpuUs / 1000,
      });
    });
  });
}
