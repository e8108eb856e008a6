import type { ScheduleFire } from '../api/index.ts';
import { batchStatusCategory, STATUS_CATEGORIES, type StatusCategory } from '../status.ts';

/**
 * How a fire turned out, in the categories badges and charts share: the run's or query's reported status
 * once there is one; a delivery the metadata plane gave up on (`dead`: the data plane refused it five times)
 * failed; anything else is still under way (waiting for a data plane, or started and not reported yet).
 */
export function fireOutcome(fire: ScheduleFire): StatusCategory {
  if (fire.status) return batchStatusCategory(fire.status);
  if (fire.delivery === 'dead') return 'failed';
  return 'progress';
}

/** One schedule's row of the timeline. */
export interface FireLane {
  readonly key: string;
  readonly label: string;
  readonly fires: readonly ScheduleFire[];
}

/** One (lane, outcome) series: the lane's index where such a fire is due, null elsewhere. */
export interface FireSeries {
  readonly lane: number;
  readonly category: StatusCategory;
  readonly values: (number | null)[];
}

export interface FireTimeline {
  /** Distinct due times, ms since the epoch, ascending (the x axis). */
  readonly times: number[];
  /** Points only; a lane without fires of an outcome has no series for it. */
  readonly series: FireSeries[];
  /** Per outcome, how many fires are due at each time (across lanes), for the legend's hover values. */
  readonly countsAt: Record<StatusCategory, number[]>;
  /** Fires per outcome in total. */
  readonly totals: Record<StatusCategory, number>;
}

/**
 * Lays fires out for a strip chart: time across, one lane per schedule, a point per fire coloured by its
 * outcome. Two fires of one lane due at the same time (not possible for one schedule: its key is its due
 * time) would share a point.
 */
export function fireTimeline(lanes: readonly FireLane[]): FireTimeline {
  const times = [...new Set(lanes.flatMap((l) => l.fires.map((f) => Date.parse(f.due_at))))]
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const empty = () =>
    Object.fromEntries(STATUS_CATEGORIES.map((c) => [c.key, 0])) as Record<StatusCategory, number>;
  const countsAt = Object.fromEntries(STATUS_CATEGORIES.map((c) => [c.key, times.map(() => 0)])) as Record<
    StatusCategory,
    number[]
  >;
  const totals = empty();
  const series: FireSeries[] = [];
  lanes.forEach((lane, laneIndex) => {
    const byCategory = new Map<StatusCategory, (number | null)[]>();
    for (const fire of lane.fires) {
      const at = index.get(Date.parse(fire.due_at));
      if (at === undefined) continue;
      const category = fireOutcome(fire);
      let values = byCategory.get(category);
      if (!values) {
        values = times.map(() => null);
        byCategory.set(category, values);
      }
      values[at] = laneIndex;
      countsAt[category][at]! += 1;
      totals[category] += 1;
    }
    for (const c of STATUS_CATEGORIES) {
      const values = byCategory.get(c.key);
      if (values) series.push({ lane: laneIndex, category: c.key, values });
    }
  });
  return { times, series, countsAt, totals };
}
