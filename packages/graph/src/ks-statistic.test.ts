import { describe, expect, it } from 'vitest';
import { ksStatistic } from './ks-statistic.ts';

describe('ksStatistic', () => {
  it('is 0 for the same sample and 1 for disjoint ones', () => {
    expect(ksStatistic([3, 1, 2], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 2], [3, 4, 5])).toBe(1);
    expect(ksStatistic([], [1])).toBeNull();
  });

  it('matches the statistic computed by hand (scipy.stats.ks_2samp gives 0.5 for these)', () => {
    // F_a steps at 1,2,3,4; F_b at 3,4,5,6: at x=2, F_a=0.5 and F_b=0 → D=0.5.
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
    // Ties across samples: at x=1, F_a=2/3, F_b=1/2 → 1/6; at x=2, 1 vs 1/2 → 1/2.
    expect(ksStatistic([1, 1, 2], [1, 3])).toBeCloseTo(0.5, 12);
  });
});
