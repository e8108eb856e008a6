import type { Usage } from '../api/index.ts';
/** Bucket widths, smallest first; the first one that yields at most `maxBuckets` buckets wins. */
export const BUCKET_UNITS = ['hour', 'day', 'week'] as const;
export type BucketUnit = (typeof BUCKET_UNITS)[number];

const HOUR = 3_600_000;
const UNIT_MS: Readonly<Record<BucketUnit, number>> = { hour: HOUR, day: 24 * HOUR, week: 7 * 24 * HOUR };

/** Start of the local hour, day or (Monday-based) week containing `t`. */
export function floorTo(t: number, unit: BucketUnit): number {
  const d = new Date(t);
  if (unit === 'hour') {
    d.setMinutes(0, 0, 0);
    return d.getTime();
  }
  d.setHours(0, 0, 0, 0);
  if (unit === 'week') d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d.getTime();
}

/** The next bucket start; computed on the calendar so daylight-saving days still line up. */
export function nextBucket(start: number, unit: BucketUnit): number {
  const d = new Date(start);
  if (unit === 'hour') d.setHours(d.getHours() + 1);
  else d.setDate(d.getDate() + (unit === 'week' ? 7 : 1));
  return d.getTime();
}

export interface BucketedCounts<K extends string> {
  readonly unit: BucketUnit;
  /** Bucket start times, ms since the epoch, ascending, with no gaps. */
  readonly starts: number[];
  /** For each key, one count per bucket. */
  readonly counts: Record<K, number[]>;
}

export interface BucketOptions {
  /** The end of the axis (usually now); items after it still extend the axis. */
  readonly now: number;
  /** Never fewer buckets than this, so a lone event is not one huge bar. Default 14. */
  readonly minBuckets?: number;
  /** Coarser units are chosen to stay under this. Default 60. */
  readonly maxBuckets?: number;
}

/**
 * Counts items per time bucket and per key, picking the bucket width from the time span so that a week
 * of deployments shows hours or days and a year shows weeks. Empty buckets are kept: gaps are information.
 *
 * @example
 * bucketCounts(deployments, (d) => Date.parse(d.created_at), (d) => statusCategory(d.status),
 *   ['success', 'failed'], { now: Date.now() })
 */
export function bucketCounts<T, K extends string>(
  items: readonly T[],
  timeOf: (item: T) => number,
  keyOf: (item: T) => K | null,
  keys: readonly K[],
  { now, minBuckets = 14, maxBuckets = 60 }: BucketOptions,
): BucketedCounts<K> {
  const times = items.map(timeOf).filter((t) => Number.isFinite(t));
  const end = Math.max(now, ...times);
  const earliest = Math.min(end, ...times);
  const unit =
    BUCKET_UNITS.find((u) => (end - earliest) / UNIT_MS[u] <= maxBuckets - 1) ??
    BUCKET_UNITS[BUCKET_UNITS.length - 1]!;
  const first = floorTo(Math.min(earliest, end - (minBuckets - 1) * UNIT_MS[unit]), unit);
  const starts: number[] = [];
  for (let s = first; s <= end; s = nextBucket(s, unit)) starts.push(s);

  const counts = Object.fromEntries(keys.map((k) => [k, starts.map(() => 0)])) as Record<K, number[]>;
  for (const item of items) {
    const t = timeOf(item);
    const key = keyOf(item);
    if (!Number.isFinite(t) || key === null || !(key in counts)) continue;
    const index = upperBound(starts, t) - 1;
    if (index >= 0) counts[key][index]! += 1;
  }
  return { unit, starts, counts };
}

/** Index of the first element greater than `t` in an ascending array. */
function upperBound(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How a bucket is named in a tooltip: "Tue 3 Mar, 14:00", "Tue 3 Mar", "Week of 2 Mar". */
export function formatBucket(start: number, unit: BucketUnit): string {
  const d = new Date(start);
  if (unit === 'hour') {
    return d.toLocaleString(undefined, {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
  }
  const date = d.toLocaleDateString(undefined, {
    weekday: unit === 'day' ? 'short' : undefined,
    day: 'numeric',
    month: 'short',
  });
  return unit === 'week' ? `Week of ${date}` : date;
}

/** Hourly buckets from `from` (inclusive) to `to` (exclusive) with the usage of each, zero where none. */
export function hourlyQueries(
  usage: Usage,
  from: number,
  to: number,
): { starts: number[]; queries: number[] } {
  const byHour = new Map(usage.hours.map((h) => [Date.parse(h.hour), h.queries]));
  const starts: number[] = [];
  for (let t = Math.floor(from / 3_600_000) * 3_600_000; t < to; t += 3_600_000) starts.push(t);
  return { starts, queries: starts.map((t) => byHour.get(t) ?? 0) };
}
