/**
 * Processes an end-to-end test (or a bench) starts and owns: the metadata plane, data-plane replicas and
 * helpers, each with its output kept for failure messages, every one stopped by `stopAll`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The repository's root folder. */
export const repoRoot = new URL('../..', import.meta.url).pathname;

const execFileAsync = promisify(execFile);

/** One started process: its child, its combined stdout and stderr so far, and when it exits. */
export interface StartedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** True while the process has neither exited nor been killed by a signal. */
  alive(): boolean;
}

/** How an app runs: the compiled build (`node dist/<app>/main.js`) or its sources through tsx. */
export type AppBuild = 'compiled' | 'sources';

/** What `createProcessGroup` starts processes with. */
export interface ProcessGroupOptions {
  /** The working folder of every process. */
  readonly cwd: string;
  /**
   * The environment every process starts from (default: `PATH` only, as a container would have: no
   * NODE_OPTIONS carrying vitest's or tsx's loaders). Each `start` adds its own variables over it.
   */
  readonly env?: Record<string, string>;
  /** Keep at most this many characters of each process's output (default 200 000, the newest). */
  readonly maxOutput?: number;
}

/** The processes one test owns. */
export interface ProcessGroup {
  readonly processes: readonly StartedProcess[];
  /** Starts `node <args…>` with the group's environment plus `env`. */
  start(name: string, args: readonly string[], env?: Record<string, string>): StartedProcess;
  /** Starts `apps/<app>` (`metadata-plane`, `data-plane`) compiled or from its sources. */
  startApp(name: string, app: string, env: Record<string, string>, build?: AppBuild): StartedProcess;
  /** The process called `name`; throws when there is none. */
  get(name: string): StartedProcess;
  /** The last `chars` characters of every process's output, one block per process. */
  tails(chars?: number): string;
  /** Waits for `url` to answer 2xx; throws with `process`'s output when it exits first or after `timeoutMs`. */
  waitUntilHealthy(process: StartedProcess, url: string, timeoutMs?: number): Promise<void>;
  /** Waits for `text` in `process`'s output; throws with the output when it exits first or after `timeoutMs`. */
  waitForOutput(process: StartedProcess, text: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` to `process` and resolves once it has exited (at once when it already has). */
  stop(process: StartedProcess, signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM to every live process (SIGKILL after `graceMs`, default 10 s), resolving once all have exited. */
  stopAll(graceMs?: number): Promise<void>;
}

/**
 * The gRPC ports a plane opens unless told otherwise: 4002 on the data plane, 4003 on the metadata plane,
 * the production defaults. Tests run side by side, so a plane started here keeps them closed; a test that
 * speaks gRPC passes free ports of its own.
 */
export const GRPC_PORTS_OFF: Readonly<Record<string, string>> = {
  SLATE_GRPC_PORT: 'off',
  SLATE_METADATA_GRPC_PORT: 'off',
};

/**
 * Creates an empty group of processes.
 *
 * @example
 * const group = createProcessGroup({ cwd: work });
 * const plane = group.startApp('metadata-plane', 'metadata-plane', { PORT: '0', … });
 * await group.waitUntilHealthy(plane, `${url}/healthz`);
 * … finally: await group.stopAll();
 */
export function createProcessGroup(options: ProcessGroupOptions): ProcessGroup {
  const processes: StartedProcess[] = [];
  const baseEnv = options.env ?? { PATH: process.env.PATH ?? '' };
  const maxOutput = options.maxOutput ?? 200_000;

  const start = (name: string, args: readonly string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [...args], {
      cwd: options.cwd,
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > maxOutput * 2) output = output.slice(-maxOutput);
    };
    child.stderr!.on('data', keep);
    child.stdout!.on('data', keep);
    const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    const started: StartedProcess = {
      name,
      child,
      output: () => output.slice(-maxOutput),
      exited,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    processes.push(started);
    return started;
  };

  const tails = (chars = 2000) =>
    processes.map((p) => `--- ${p.name}\n${p.output().slice(-chars)}`).join('\n');

  return {
    processes,
    start,
    startApp: (name, app, env, build = 'compiled') =>
      start(
        name,
        build === 'compiled'
          ? [join(repoRoot, 'dist', app, 'main.js')]
          : ['--import', import.meta.resolve('tsx/esm'), join(repoRoot, 'apps', app, 'src/main.ts')],
        { ...GRPC_PORTS_OFF, ...env },
      ),
    get(name) {
      const found = processes.find((p) => p.name === name);
      if (!found) throw new Error(`no process called ${name}`);
      return found;
    },
    tails,
    async waitUntilHealthy(started, url, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!started.alive())
          throw new Error(`${started.name} exited (${await started.exited}):\n${started.output()}`);
        const ok = await fetch(url).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (Date.now() > deadline)
          throw new Error(`${started.name} did not answer ${url} in ${timeoutMs} ms:\n${started.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async waitForOutput(started, text, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      while (!started.output().includes(text)) {
        if (!started.alive())
          throw new Error(`${started.name} exited (${await started.exited}):\n${started.output()}`);
        if (Date.now() > deadline)
          throw new Error(`${started.name} did not print '${text}' in ${timeoutMs} ms:\n${started.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(started, signal = 'SIGTERM') {
      if (!started.alive()) return;
      started.child.kill(signal);
      await started.exited;
    },
    async stopAll(graceMs = 10_000) {
      await Promise.all(
        processes.map(async (p) => {
          if (!p.alive()) return;
          p.child.kill('SIGTERM');
          const timer = setTimeout(() => p.alive() && p.child.kill('SIGKILL'), graceMs);
          await p.exited;
          clearTimeout(timer);
        }),
      );
      processes.length = 0;
    },
  };
}

/**
 * Polls `what` (every `intervalMs`, default 250) until it resolves a value other than `undefined`; a
 * rejection counts as not yet. Throws after `timeoutMs` (default 90 s) with `label` (a function is called
 * then, so it can show output gathered meanwhile) and `context()` (e.g. a process group's `tails`).
 *
 * @example
 * await until(async () => ((await fetch(url)).ok ? true : undefined), 'the data plane', { context: group.tails });
 */
export async function until<T>(
  what: () => Promise<T | undefined>,
  label: string | (() => string),
  options: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    const value = await what().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${typeof label === 'string' ? label : label()}${options.context ? `\n${options.context()}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}

/** `npm run build` without the web UI: dist/ from this tree's sources, so a test never runs a stale build. */
export async function buildDist(): Promise<void> {
  await execFileAsync(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--no-web'], { cwd: repoRoot });
}

/** Runs the CLI (`packages/cli/bin/slate.js`, compiled unless `SLATE_CLI_FROM_SOURCE` is in `env`). */
export async function runCli(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [join(repoRoot, 'packages/cli/bin/slate.js'), ...args], {
    cwd: options.cwd,
    env: options.env,
    maxBuffer: 64 * 1024 * 1024,
  });
}
