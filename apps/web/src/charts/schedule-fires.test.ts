import { describe, expect, it } from 'vitest';
import type { ScheduleFire } from '../api/index.ts';
import { type FireLane, fireOutcome, fireTimeline } from './schedule-fires.ts';

const fire = (due: string, delivery: string, status: string | null): ScheduleFire => ({
  key: due,
  due_at: due,
  delivery,
  attempts: 1,
  error: null,
  operation_id: null,
  status,
  created_at: due,
});

describe('schedule fires timeline', () => {
  it('names each fire’s outcome: the reported status first, a given-up delivery failed, else under way', () => {
    expect(
      [
        fire('2026-01-01T00:00:00Z', 'accepted', 'SUCCEEDED'),
        fire('2026-01-01T00:00:00Z', 'accepted', 'FAILED'),
        fire('2026-01-01T00:00:00Z', 'accepted', 'CANCELED'),
        fire('2026-01-01T00:00:00Z', 'accepted', 'RUNNING'),
        fire('2026-01-01T00:00:00Z', 'accepted', null),
        fire('2026-01-01T00:00:00Z', 'pending', null),
        fire('2026-01-01T00:00:00Z', 'dead', null),
      ].map(fireOutcome),
    ).toEqual(['success', 'failed', 'inactive', 'progress', 'progress', 'progress', 'failed']);
  });

  it('puts each fire at its due time on its schedule’s lane, in the series of its outcome', () => {
    const h = (n: number) => `2026-01-01T${String(n).padStart(2, '0')}:00:00.000Z`;
    const lanes: FireLane[] = [
      {
        key: 'a',
        label: 'a',
        fires: [fire(h(3), 'accepted', 'SUCCEEDED'), fire(h(1), 'accepted', 'FAILED')],
      },
      { key: 'b', label: 'b', fires: [] },
      {
        key: 'c',
        label: 'c',
        fires: [fire(h(3), 'accepted', 'SUCCEEDED'), fire(h(2), 'dead', null), fire(h(0), 'pending', null)],
      },
    ];
    const t = fireTimeline(lanes);
    expect(t.times).toEqual([0, 1, 2, 3].map((n) => Date.parse(h(n))));
    // Brute force: every (lane, time) point that is set, read back from the series.
    const points = t.series.flatMap((s) =>
      s.values.flatMap((v, i) => (v === null ? [] : [`${lanes[v]!.key}@${i}:${s.category}`])),
    );
    expect(points.sort()).toEqual(['a@1:failed', 'a@3:success', 'c@0:progress', 'c@2:failed', 'c@3:success']);
    for (const s of t.series) expect(s.values.every((v) => v === null || v === s.lane)).toBe(true);
    expect(t.countsAt.success).toEqual([0, 0, 0, 2]);
    expect(t.countsAt.failed).toEqual([0, 1, 1, 0]);
    expect(t.totals).toEqual({ success: 2, failed: 2, progress: 1, inactive: 0 });
  });

  it('is empty without fires', () => {
    const t = fireTimeline([{ key: 'a', label: 'a', fires: [] }]);
    expect(t).toMatchObject({ times: [], series: [] });
  });
});
