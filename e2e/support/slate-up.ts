import { join } from 'node:path';
import { type ProcessGroup, repoRoot, type StartedProcess } from './processes.ts';

/** How `startSlateUp` runs `slate up`. */
export interface SlateUpOptions {
  /** The feature repository (`--project`). */
  readonly project: string;
  /** Where `slate up` keeps its state (`--state-dir`). */
  readonly stateDir: string;
  /** The API host's HTTP port (`--port`). */
  readonly port: number;
  /** The data plane's HTTP port (`--data-plane-port`). */
  readonly dataPlanePort: number;
  /**
   * Free ports for the API host's and the data plane's gRPC listeners. Default: gRPC off, since tests run
   * side by side and its production ports (4002, 4003) may be taken.
   */
  readonly grpc?: { readonly port: number; readonly dataPlanePort: number };
  /** The built web UI to serve (`--web-root`; default apps/web/dist when built). */
  readonly webRoot?: string;
  /** Node arguments before the CLI's entry point (e.g. `--import` a probe). */
  readonly nodeArgs?: readonly string[];
  /** Variables added to the group's environment. */
  readonly env?: Record<string, string>;
  /** How long to wait for it to say it is up. Default 180 s (collecting, bundling, migrating, booting workers on a loaded machine). */
  readonly timeoutMs?: number;
}

/** The CLI's entry point, as `npm start` runs it. */
export const slateBin = join(repoRoot, 'packages/cli/bin/slate.js');

/**
 * Starts `slate up` in `group` (named `slate up`) and resolves once it printed that it is up.
 *
 * @throws Error with its output when it exits first or does not come up within `timeoutMs`.
 * @example
 * const group = createProcessGroup({ cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
 * const up = await startSlateUp(group, { project, stateDir, port: await freePort(), dataPlanePort: await freePort() });
 * … finally: await group.stop(up, 'SIGINT');
 */
export async function startSlateUp(group: ProcessGroup, options: SlateUpOptions): Promise<StartedProcess> {
  const started = group.start(
    'slate up',
    [
      ...(options.nodeArgs ?? []),
      slateBin,
      'up',
      '--project',
      options.project,
      '--state-dir',
      options.stateDir,
      '--port',
      String(options.port),
      '--data-plane-port',
      String(options.dataPlanePort),
      ...(options.grpc
        ? [
            '--grpc-port',
            String(options.grpc.port),
            '--data-plane-grpc-port',
            String(options.grpc.dataPlanePort),
          ]
        : ['--data-plane-grpc-port', 'off']),
      ...(options.webRoot ? ['--web-root', options.webRoot] : []),
    ],
    options.env,
  );
  await group.waitForOutput(started, 'Press Ctrl-C to stop', options.timeoutMs ?? 180_000);
  return started;
}
