import { randomUUID } from 'node:crypto';
import type { ResolverRuntime } from '@slate/engine';
import type { Logger } from 'pino';
import type { UsageReport } from '../control-plane/control-plane-client.ts';
import type { DeploymentLoader } from '../deployments/deployment-loader.ts';

/**
 * Meters usage per environment and UTC hour — queries answered, rows, and seconds spent in resolvers — and
 * reports it to the metadata plane for its billing views. A report keeps its id until the metadata plane has
 * accepted it, so a retried report is counted once; counts made meanwhile go into the next one.
 */
export interface UsageMeter {
  /** Times every resolver call of one environment's runtime. */
  instrumentRuntime(runtime: ResolverRuntime, environmentId: string): ResolverRuntime;
  /** Counts the queries and rows each loaded engine answers. */
  wrapLoader(load: DeploymentLoader): DeploymentLoader;
  /** Sends what has been counted (and any report not yet accepted). Never throws: it logs and retries later. */
  flush(): Promise<void>;
  /** Starts reporting through `report` every `intervalMs` (before this, counts only accumulate). */
  start(report: (report: UsageReport) => Promise<void>): void;
  /** Stops the timer and sends a last report. */
  stop(): Promise<void>;
}

type Entry = { -readonly [K in keyof UsageReport['entries'][number]]: UsageReport['entries'][number][K] };

export function createUsageMeter(options: {
  /** Where reports go; may also be given later to `start`. */
  report?: (report: UsageReport) => Promise<void>;
  intervalMs?: number;
  now?: () => number;
  logger?: Logger;
}): UsageMeter {
  const now = options.now ?? Date.now;
  const counts = new Map<string, Entry>();
  let pending: UsageReport | undefined;
  let report = options.report;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const entryOf = (environmentId: string): Entry => {
    const hour = new Date(Math.floor(now() / 3_600_000) * 3_600_000).toISOString();
    const key = `${environmentId}\u0000${hour}`;
    let entry = counts.get(key);
    if (!entry) {
      entry = { environment_id: environmentId, at: hour, queries: 0, rows: 0, compute_seconds: 0 };
      counts.set(key, entry);
    }
    return entry;
  };

  const send = async () => {
    if (!report) return;
    if (!pending && counts.size > 0) {
      pending = { report_id: randomUUID(), entries: [...counts.values()] };
      counts.clear();
    }
    if (!pending) return;
    try {
      await report(pending);
      pending = undefined;
    } catch (error) {
      options.logger?.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'usage report failed; will retry',
      );
    }
  };

  return {
    instrumentRuntime(runtime, environmentId) {
      return {
        async call(request, signal) {
          const started = performance.now();
          try {
            return await runtime.call(request, signal);
          } finally {
            entryOf(environmentId).compute_seconds += (performance.now() - started) / 1000;
          }
        },
        close: () => runtime.close(),
      };
    },
    wrapLoader(load) {
      return async (environment, deployment, secrets) => {
        const engine = await load(environment, deployment, secrets);
        return {
          ...engine,
          async query(query) {
            const result = await engine.query(query);
            const entry = entryOf(environment.id);
            entry.queries += 1;
            entry.rows += result.rowCount;
            return result;
          },
        };
      };
    },
    flush() {
      sending = sending.then(send);
      return sending;
    },
    start(reporter) {
      report = reporter;
      timer ??= setInterval(() => void this.flush(), options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await this.flush();
    },
  };
}
