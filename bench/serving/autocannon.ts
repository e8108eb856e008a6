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
export async function autocannon(options: Record<string, unknown>): Promise<LoadRun> {
  const json = (await runLoadScript(new URL('./load.mjs', import.meta.url), options)) as AutocannonJson;
  return {
    total: json.requests.total,
    qps: json.requests.average,
    p50: json.latency.p50,
    p99: json.latency.p99,
    non2xx: json.non2xx,
    errors: json.errors + json.timeouts,
    loadCpuMs: json.loadCpuUs / 1000,
  };
}

interface AutocannonJson {
  readonly requests: { readonly total: number; readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly loadCpuUs: number;
}

/**
 * Runs a load script (`node [nodeArgs…] script '<options as JSON>'`, e.g. `['--import', 'tsx']` for a
 * TypeScript one) in its own process and resolves with the JSON it prints.
 */
export function runLoadScript(
  script: URL,
  options: Record<string, unknown>,
  nodeArgs: readonly string[] = [],
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(script), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${fileURLToPath(script)} exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}
