import cluster from 'node:cluster';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import type { DataPlaneRole } from './roles.ts';

/** Most query-server processes one data-plane process may start (a pod rarely has more cores). */
export const MAX_QUERY_PROCESSES = 64;

/** What the supervisor needs from the environment (validated by main's schema). */
export interface QueryProcessesConfig {
  readonly processes: number;
  readonly roles: ReadonlySet<DataPlaneRole>;
  readonly instanceId: string;
  readonly stateDir: string;
  readonly metricsPort: number;
  readonly keyFile: string | undefined;
}

/**
 * Checks `SLATE_QUERY_PROCESSES` against the rest of the configuration: several query servers are
 * replicas of one data plane (docs/adr/0009-data-plane-replicas.md), so they need the shared key file, and
 * only the stateless query role may be multiplied inside a pod.
 *
 * @throws SlateError input `INVALID_QUERY_PROCESSES` when `processes` > 1 with other roles or without
 * `SLATE_DATA_PLANE_KEY_FILE`.
 */
export function checkQueryProcesses(config: QueryProcessesConfig): void {
  if (config.processes <= 1) return;
  if (config.roles.size !== 1 || !config.roles.has('query'))
    throw new SlateError(
      'input',
      'INVALID_QUERY_PROCESSES',
      `SLATE_QUERY_PROCESSES=${config.processes} needs SLATE_ROLE=query: only the stateless query server runs as several processes; scale the other roles with replicas`,
    );
  if (!config.keyFile)
    throw new SlateError(
      'input',
      'INVALID_QUERY_PROCESSES',
      `SLATE_QUERY_PROCESSES=${config.processes} needs SLATE_DATA_PLANE_KEY_FILE: the processes are replicas of one data plane and share its key`,
    );
}

/**
 * Runs `SLATE_QUERY_PROCESSES` query servers behind one port with `node:cluster`: the primary process
 * starts that many children and serves nothing itself; each child is a full query-role data plane (its own
 * event loop, engine and resolver workers), registered as its own instance (`<instance>-p<n>`), with its
 * own state dir (`<state>/p<n>`) and metrics port (`SLATE_METRICS_PORT + n`). The primary accepts
 * connections on `PORT` (and the gRPC port) and hands them to the children in turn; a kept-alive connection
 * stays with its child. When a child exits unexpectedly the primary stops the others and exits 1, so the
 * orchestrator restarts the pod whole. SIGTERM/SIGINT are passed on; the primary exits once every child has.
 *
 * Returns `true` in the primary (the caller must not start a data plane), `false` in a child or when one
 * process is asked for.
 *
 * @example
 * if (superviseQueryProcesses(config, log)) return; // the primary
 */
export function superviseQueryProcesses(
  config: QueryProcessesConfig,
  log: (message: string, fields?: Record<string, unknown>) => void,
): boolean {
  if (config.processes <= 1 || !cluster.isPrimary) return false;
  let stopping = false;
  const children = new Set<ReturnType<typeof cluster.fork>>();
  let exitCode = 0;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (children.size === 0) process.exit(code);
    for (const child of children) child.process.kill('SIGTERM');
  };
  for (let n = 0; n < config.processes; n++) {
    const child = cluster.fork({
      SLATE_QUERY_PROCESSES: '1',
      SLATE_INSTANCE_ID: `${config.instanceId}-p${n}`.slice(0, 128),
      SLATE_STATE_DIR: join(config.stateDir, `p${n}`),
      SLATE_METRICS_PORT: String(config.metricsPort === 0 ? 0 : config.metricsPort + n),
    });
    children.add(child);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!stopping) {
        log('a query process exited; stopping the others', { code, signal, process: n });
        stop(1);
      } else if (children.size === 0) process.exit(exitCode);
    });
  }
  process.once('SIGTERM', () => stop(0));
  process.once('SIGINT', () => stop(0));
  log('query processes started', { processes: config.processes });
  return true;
}
