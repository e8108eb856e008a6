import { describe, expect, it } from 'vitest';
import { hourlyQueries } from './time-buckets.ts';

describe('hourlyQueries', () => {
  it('fills every hour of the window, zero where no usage was reported', () => {
    const from = Date.parse('2026-11-26T00:30:00Z');
    const to = Date.parse('2026-11-26T04:00:00Z');
    const usage = {
      environment_id: 'dev',
      from: '',
      to: '',
      hours: [
        { hour: '2026-11-26T01:00:00.000Z', queries: 7, rows: 7, compute_seconds: 0.1 },
        { hour: '2026-11-26T03:00:00.000Z', queries: 2, rows: 4, compute_seconds: 0 },
      ],
      totals: { queries: 9, rows: 11, compute_seconds: 0.1 },
    };
    const { starts, queries } = hourlyQueries(usage, from, to);
    expect(starts.map((t) => new Date(t).toISOString().slice(11, 13))).toEqual(['00', '01', '02', '03']);
    expect(queries).toEqual([0, 7, 0, 2]);
  });
});
