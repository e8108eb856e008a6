import { describe, expect, it } from 'vitest';
import { dueFireTimes, nextFireTime } from './schedule.ts';

describe('nextFireTime', () => {
  it.each([
    ['0 * * * *', '2026-01-01T10:15:00Z', '2026-01-01T11:00:00.000Z'],
    ['0 * * * *', '2026-01-01T11:00:00Z', '2026-01-01T12:00:00.000Z'],
    ['*/5 * * * *', '2026-01-01T10:14:59Z', '2026-01-01T10:15:00.000Z'],
    ['30 2 * * 1', '2026-01-01T00:00:00Z', '2026-01-05T02:30:00.000Z'], // UTC, the first Monday
    ['1h', '2026-01-01T10:15:00Z', '2026-01-01T11:00:00.000Z'],
    ['90m', '2026-01-01T00:00:00Z', '2026-01-01T01:30:00.000Z'],
    ['1d', '2026-01-01T23:59:59Z', '2026-01-02T00:00:00.000Z'],
  ])('%s after %s is %s', (schedule, after, expected) => {
    expect(nextFireTime(schedule, new Date(after)).toISOString()).toBe(expected);
  });

  it.each(['soon', '0', '99 * * * *'])('refuses %j', (schedule) => {
    expect(() => nextFireTime(schedule, new Date())).toThrow(
      expect.objectContaining({ code: 'INVALID_SCHEDULE' }),
    );
  });
});

describe('dueFireTimes', () => {
  const at = (iso: string) => new Date(iso);
  it('lists every due time in (after, now] when within the cap', () => {
    const { due, skipped } = dueFireTimes('1h', at('2026-01-01T10:00:00Z'), at('2026-01-01T12:00:00Z'), 5);
    expect(due.map((d) => d.toISOString())).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z']);
    expect(skipped).toBe(0);
  });
  it('keeps the latest maxMissedRuns and counts the skipped ones', () => {
    const { due, skipped } = dueFireTimes(
      '*/15 * * * *',
      at('2026-01-01T10:00:00Z'),
      at('2026-01-01T11:20:00Z'),
      2,
    );
    expect(due.map((d) => d.toISOString())).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T11:15:00.000Z']);
    expect(skipped).toBe(3); // 10:15, 10:30 and 10:45
  });
  it('fires nothing before the first due time', () => {
    expect(dueFireTimes('1d', at('2026-01-01T00:00:00Z'), at('2026-01-01T23:59:59Z')).due).toEqual([]);
  });
});
