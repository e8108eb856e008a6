import { describe, expect, it } from 'vitest';
import {
  addRow,
  bucketLayout,
  comparePositions,
  emptyWindowState,
  nextChange,
  offsetPosition,
  prune,
  windowValues,
} from './window-buckets.ts';

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MINUTE = 60_000;
const aggregations = (windows: (number | null)[]) =>
  (['count', 'sum', 'min', 'max', 'mean'] as const).map((fn, i) => ({
    param: `a${i}`,
    feature: `acct.${fn}`,
    function: fn,
    windows: windows.map((seconds) => ({ fqn: `acct.${fn}__${seconds ?? 'all'}__`, seconds })),
  }));

/** The oracle: a plain loop over the rows a window covers, as the semantics state it. */
function oracle(
  rows: { at: number; value: number }[],
  covered: (at: number) => boolean,
): Record<string, number | null> {
  const inside = rows.filter((r) => covered(r.at)).map((r) => r.value);
  const sum = inside.reduce((s, v) => s + v, 0);
  return {
    count: inside.length,
    sum,
    min: inside.length ? Math.min(...inside) : null,
    max: inside.length ? Math.max(...inside) : null,
    mean: inside.length ? sum / inside.length : null,
  };
}

describe('window buckets', () => {
  for (const mode of ['continuous', 'tumbling'] as const)
    it(`${mode}: every window's value equals a loop over its rows, for rows in any order and any clock`, () => {
      const next = random(mode === 'continuous' ? 7 : 11);
      const windows = [600, 3600, null];
      const layout = bucketLayout({
        windowMode: mode,
        bucketS: mode === 'continuous' ? 60 : 600,
        aggregations: aggregations(windows),
      });
      const start = Date.UTC(2026, 0, 1, 12, 7, 13);
      let now = start;
      const state = emptyWindowState();
      const kept: { at: number; value: number }[] = [];
      for (let step = 0; step < 400; step++) {
        now += Math.floor(next() * 45_000);
        // Out of order: up to 75 minutes back (some beyond every finite window).
        const at = now - Math.floor(next() * 75 * MINUTE);
        const value = Math.round(next() * 2000 - 1000) / 10;
        const row = { a0: 1, a1: value, a2: value, a3: value, a4: value };
        if (addRow(layout, state, row, at, now)) kept.push({ at, value });
        prune(layout, state, now);
        if (step % 20 !== 0) continue;
        const values = windowValues(layout, state, now);
        for (const seconds of windows) {
          const covered = (at: number) => {
            if (at > now) return false;
            if (seconds === null) return true;
            const ms = seconds * 1000;
            if (mode === 'tumbling') return Math.floor(at / ms) === Math.floor(now / ms);
            return Math.floor(at / MINUTE) > Math.floor(now / MINUTE) - ms / MINUTE;
          };
          const expected = oracle(kept, covered);
          for (const fn of ['count', 'sum', 'min', 'max', 'mean'] as const) {
            const actual = values[`acct.${fn}__${seconds ?? 'all'}__`];
            if (typeof expected[fn] === 'number') expect(actual).toBeCloseTo(expected[fn], 6);
            else expect(actual).toBeNull();
          }
        }
      }
      // State stays bounded: only buckets inside the longest window are kept.
      expect(Object.keys(state.b).length).toBeLessThanOrEqual(mode === 'continuous' ? 61 : 6);
    });

  it('nextChange is the first instant a window loses a bucket', () => {
    const layout = bucketLayout({ windowMode: 'continuous', bucketS: 60, aggregations: aggregations([600]) });
    const state = emptyWindowState();
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    addRow(layout, state, { a0: 1 }, now - 5 * MINUTE, now); // bucket 11:55
    addRow(layout, state, { a0: 1 }, now, now); // bucket 12:00
    const at = nextChange(layout, state, now)!;
    expect(new Date(at).toISOString()).toBe('2026-01-01T12:05:00.000Z');
    expect(windowValues(layout, state, at - 1)['acct.count__600__']).toBe(2);
    expect(windowValues(layout, state, at)['acct.count__600__']).toBe(1);
  });

  it('a row whose bucket left every window is refused unless a window is "all"', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const finite = bucketLayout({ windowMode: 'continuous', bucketS: 60, aggregations: aggregations([600]) });
    expect(addRow(finite, emptyWindowState(), { a0: 1 }, now - 11 * MINUTE, now)).toBe(false);
    const all = bucketLayout({
      windowMode: 'continuous',
      bucketS: 60,
      aggregations: aggregations([600, null]),
    });
    const state = emptyWindowState();
    expect(addRow(all, state, { a0: 1 }, now - 11 * MINUTE, now)).toBe(true);
    expect(windowValues(all, state, now)).toMatchObject({ 'acct.count__600__': 0, 'acct.count__all__': 1 });
  });

  it('orders offsets of every bus backend', () => {
    const order = (a: string, b: string) =>
      comparePositions(offsetPosition(a).position, offsetPosition(b).position);
    expect(order('9', '10')).toBeLessThan(0);
    expect(order('1700000000000-2', '1700000000000-10')).toBeLessThan(0);
    expect(order('1700000000001-0', '1700000000000-10')).toBeGreaterThan(0);
    expect(offsetPosition('3:17')).toEqual({ partition: '3', position: [17n] });
    expect(order('3:17', '3:17')).toBe(0);
  });
});
