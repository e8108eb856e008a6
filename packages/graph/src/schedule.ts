import { Cron } from 'croner';
import { parseDuration } from './duration.ts';
import { SlateError } from './errors.ts';

/**
 * The next time a schedule fires strictly after `after`: a UTC crontab (`"*\/5 * * * *"`, via croner) or a
 * duration (`"1h"`: on multiples of the period since the epoch, so every process that computes it agrees —
 * both planes and every replica of each).
 *
 * @throws SlateError `INVALID_SCHEDULE` for a schedule that is neither.
 * @example
 * nextFireTime('0 * * * *', new Date('2026-01-01T10:15:00Z')); // 2026-01-01T11:00:00Z
 */
export function nextFireTime(schedule: string, after: Date): Date {
  if (/^\s*\S+(\s+\S+){4,5}\s*$/.test(schedule)) {
    let cron: Cron;
    try {
      cron = new Cron(schedule, { timezone: 'UTC', paused: true });
    } catch (error) {
      throw new SlateError('input', 'INVALID_SCHEDULE', `cron '${schedule}': ${(error as Error).message}`);
    }
    const next = cron.nextRun(after);
    if (!next) throw new SlateError('input', 'INVALID_SCHEDULE', `cron '${schedule}' never fires again`);
    return next;
  }
  let seconds: number | null;
  try {
    seconds = parseDuration(schedule);
  } catch {
    throw new SlateError('input', 'INVALID_SCHEDULE', `'${schedule}' is neither a crontab nor a duration`);
  }
  if (seconds === null || seconds <= 0)
    throw new SlateError('input', 'INVALID_SCHEDULE', `'${schedule}' is not a positive period`);
  const period = seconds * 1000;
  return new Date((Math.floor(after.getTime() / period) + 1) * period);
}

/** Due times of a schedule after `after` up to `now`, capped: see `dueFireTimes`. */
export interface DueFireTimes {
  /** The due times to fire, oldest first: at most `maxMissedRuns`, the latest ones. */
  readonly due: readonly Date[];
  /** Due times skipped because the caller fell behind by more than `maxMissedRuns`. */
  readonly skipped: number;
}

/**
 * The due times of `schedule` in `(after, now]`, keeping only the latest `maxMissedRuns` (default 1), as a
 * Kubernetes CronJob catching up fires once rather than replaying every missed run. Both the data plane's
 * scheduler and the metadata plane's apply this one rule.
 *
 * @throws SlateError `INVALID_SCHEDULE` (see `nextFireTime`).
 * @example
 * dueFireTimes('1h', new Date('2026-01-01T10:00:00Z'), new Date('2026-01-01T13:30:00Z'), 2);
 * // { due: [12:00, 13:00], skipped: 1 }
 */
export function dueFireTimes(schedule: string, after: Date, now: Date, maxMissedRuns = 1): DueFireTimes {
  const cap = Math.max(1, Math.floor(maxMissedRuns));
  const due: Date[] = [];
  let skipped = 0;
  for (let next = nextFireTime(schedule, after); next <= now; next = nextFireTime(schedule, next)) {
    due.push(next);
    if (due.length > cap) {
      due.shift();
      skipped++;
    }
  }
  return { due, skipped };
}
