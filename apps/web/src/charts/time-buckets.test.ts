import { describe, expect, it } from 'vitest';
import { bucketCounts, floorTo } from './time-buckets.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Local noon, so day boundaries are unambiguous in any time zone the tests run in.
const NOW = new Date(2026, 2, 20, 12, 0, 0).getTime();

describe('bucketCounts', () => {
  it('counts per day and key over a two-week span, keeping empty days', () => {
    const items = [
      { t: NOW - 10 * DAY, k: 'ok' },
      { t: NOW - 10 * DAY + HOUR, k: 'bad' },
      { t: NOW - 2 * DAY, k: 'ok' },
      { t: NOW, k: 'ok' },
    ] as const;
    const b = bucketCounts(
      items,
      (i) => i.t,
      (i) => i.k,
      ['ok', 'bad'],
      { now: NOW },
    );
    expect(b.unit).toBe('day');
    expect(b.starts.length).toBe(14); // minBuckets
    expect(b.starts.at(-1)).toBe(new Date(2026, 2, 20).getTime());
    const tenDaysAgo = b.starts.indexOf(new Date(2026, 2, 10).getTime());
    expect(b.counts.ok[tenDaysAgo]).toBe(1);
    expect(b.counts.bad[tenDaysAgo]).toBe(1);
    expect(b.counts.ok.reduce((a, n) => a + n, 0)).toBe(3);
    expect(b.counts.bad.reduce((a, n) => a + n, 0)).toBe(1);
  });

  it('uses hours for a day of events and weeks for a year', () => {
    const hours = bucketCounts(
      [NOW - 20 * HOUR, NOW],
      (t) => t,
      () => 'x',
      ['x'],
      { now: NOW },
    );
    expect(hours.unit).toBe('hour');
    const weeks = bucketCounts(
      [NOW - 300 * DAY, NOW],
      (t) => t,
      () => 'x',
      ['x'],
      { now: NOW },
    );
    expect(weeks.unit).toBe('week');
    expect(weeks.starts.length).toBeLessThanOrEqual(60);
    expect(weeks.counts.x.reduce((a, n) => a + n, 0)).toBe(2);
  });

  it('ignores unknown keys and unparseable times', () => {
    const b = bucketCounts(
      [{ t: Number.NaN }, { t: NOW }],
      (i) => i.t,
      (i) => (i.t === NOW ? 'other' : 'x'),
      ['x'],
      { now: NOW },
    );
    expect(b.counts.x.every((n) => n === 0)).toBe(true);
  });
});

describe('floorTo', () => {
  it('floors weeks to local Monday midnight', () => {
    const friday = new Date(2026, 2, 20, 15, 30).getTime();
    expect(new Date(floorTo(friday, 'week'))).toEqual(new Date(2026, 2, 16));
    expect(new Date(floorTo(friday, 'hour'))).toEqual(new Date(2026, 2, 20, 15));
  });
});
