import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { isReachable } from './services.ts';

/** A Redis server a test owns: it may kill it or flush it without touching the machine's shared one. */
export interface OwnRedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s) and removes its folder. */
  stop(): Promise<void>;
  /**
   * Stops the server with `signal` (default SIGKILL), waits `downMs` (default 0), and starts it again on the
   * same port and folder, resolving once it answers. With `appendOnly` the data outlives the restart.
   */
  restart(options?: { signal?: NodeJS.Signals; downMs?: number }): Promise<void>;
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /**
   * Persist with an append-only file fsynced on every write (`--appendonly yes --appendfsync always`), so
   * everything acknowledged survives `restart`, even a SIGKILL. Default false (in memory only).
   */
  readonly appendOnly?: boolean;
}

const binary = () => process.env.SLATE_TEST_REDIS_SERVER ?? 'redis-server';

/**
 * Why a private Redis server cannot start here (`redis-server` not on the PATH, or not the one in
 * `SLATE_TEST_REDIS_SERVER`), or `undefined` when it can. Pass it to `unlessCi`.
 *
 * @example
 * const unavailable = unlessCi(redisServerUnavailable());
 */
export function redisServerUnavailable(): string | undefined {
  try {
    execFileSync(binary(), ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${binary()} cannot be run (set SLATE_TEST_REDIS_SERVER to a redis-server binary)`;
  }
}

/**
 * Starts a private, non-persistent `redis-server` on a free port and resolves once it answers.
 *
 * @throws Error when it does not answer within 10 s.
 * @example
 * const redis = await startRedisServer();
 * try { … redis.url … } finally { await redis.stop(); }
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<OwnRedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'slate-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const persistence = options.appendOnly
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = async () => {
    child = spawn(
      binary(),
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    const current = child;
    exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await isReachable(url, 200))) {
      if (Date.now() > deadline || current.exitCode !== null) {
        current.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`redis-server did not start on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    url,
    port,
    async stop() {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async restart({ signal = 'SIGKILL', downMs = 0 } = {}) {
      await halt(signal);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await launch();
    },
  };
}
