/** CPU time of the processes a bench measures: a child by its pid (Linux /proc), Redis by `INFO cpu`. */
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** utime + stime of a live process (all its threads) in ms; 0 once it has exited. */
export function cpuMs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The Redis server's CPU time so far (user + system, main thread and children), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
}

/**
 * Over all live threads of `pid` (Linux schedstat): time spent running and time spent runnable but waiting
 * for a core, in ms. Waiting time is what an overloaded machine costs a process.
 */
export function schedMs(pid: number): { runMs: number; waitMs: number } {
  let runNs = 0;
  let waitNs = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { runMs: 0, waitMs: 0 };
  }
  for (const task of tasks) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ').map(Number);
      runNs += run!;
      waitNs += wait!;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
}
