/**
 * The processes `npm run bench -- serving` drives, each started as production starts it: a private
 * redis-server, the compiled metadata plane and data plane (`npm run build` → `dist/`), the bare limit
 * bundled with esbuild, and `slate up` from the compiled CLI. Every child is tracked and stopped by its pid.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

/** A started child process and what it printed (kept to the last 64 KiB). */
export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
}

const started: Started[] = [];

/** Spawns `node <args>` (or another command) with only the given environment, as a container would. */
export function startProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd = repoRoot,
): Started {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const entry = { child, pid: child.pid!, output: () => output };
  started.push(entry);
  return entry;
}

/** Resolves once `probe` answers 2xx; rejects with the process's output if it exits or takes over `ms`. */
export async function waitHealthy(process: Started, probe: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (process.child.exitCode !== null)
      throw new Error(`process exited ${process.child.exitCode}:\n${process.output()}`);
    const ok = await fetch(probe).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${probe} not healthy in time:\n${process.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops every child this bench started (SIGTERM, then SIGKILL after 10 s), newest first. */
export async function stopAll(): Promise<void> {
  for (const entry of started.splice(0).reverse()) {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) continue;
    const exited = new Promise((resolve) => entry.child.once('exit', resolve));
    entry.child.kill('SIGTERM');
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * utime + stime of a process and all its threads so far, in µs, and its resident memory in MiB (Linux /proc),
 * with those of its live child processes (a data plane running several query processes under node:cluster).
 */
export function usage(pid: number): { cpuUs: number; rssMb: number } {
  let cpuUs = 0;
  let rssMb = 0;
  for (const one of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${one}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuUs += (Number(fields[11]) + Number(fields[12])) * 10_000;
      rssMb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${one}/status`, 'utf8'))![1]) / 1024;
    } catch (error) {
      if (one === pid) throw error;
      // A child that ended between listing and reading.
    }
  }
  return { cpuUs, rssMb };
}

/** Live child processes of `pid`, and theirs (Linux `/proc/<pid>/task/<tid>/children`). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tasks) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of text.split(' ').filter(Boolean).map(Number)) found.push(child, ...descendants(child));
  }
  return found;
}

/** `npm run build` without the web UI: the compiled processes the bench starts. */
export async function buildDist(): Promise<void> {
  await exec(process.execPath, [join(repoRoot, 'scripts/build.mjs'), '--no-web'], { cwd: repoRoot });
}

/**
 * The bare limit compiled as scripts/build.mjs compiles the planes (esbuild, ESM, third-party packages
 * external), under node_modules/.cache so that it resolves fastify and ioredis from the repository's
 * node_modules (not in dist/: a build meanwhile, e.g. a test run's, swaps dist/ whole).
 */
export async function buildLimit(): Promise<string> {
  const outfile = join(repoRoot, 'node_modules/.cache/slate-bench/serving-limit.js');
  await build({
    entryPoints: [join(repoRoot, 'bench/serving/limit-server.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

/** A private redis-server on `port`, without persistence, so the bench never touches shared Redis state. */
export async function startRedis(port: number): Promise<Started> {
  const redis = startProcess(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {},
  );
  const deadline = Date.now() + 10_000;
  while (!redis.output().includes('Ready to accept connections')) {
    if (redis.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start:\n${redis.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return redis;
}

/**
 * CPU so far (µs) of a process's main thread (`main`: the event loop) and of all its other threads together
 * (`other`: V8's GC and compiler threads, libuv's pool, worker threads); Node names them all `node`.
 */
export function threadUsage(pid: number): Map<string, number> {
  const byName = new Map<string, number>([
    ['main', 0],
    ['other', 0],
  ]);
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : 'other';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const us = (Number(fields[11]) + Number(fields[12])) * 10_000;
      byName.set(name, (byName.get(name) ?? 0) + us);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return byName;
}
