import { describe, expect, it } from 'vitest';
import { formatMetricSeries } from './commands/metrics.ts';
import { sparkline } from './sparkline.ts';

describe('sparkline', () => {
  it('maps the lowest value to ▁, the highest to █, and gaps to spaces', () => {
    expect(sparkline([0, 7, null, 3.5, 1])).toBe('▁█ ▅▂');
    expect(sparkline([5, 5])).toBe('▁▁');
    expect(sparkline([null, null])).toBe('  ');
  });

  it('prints one line per series with its latest, lowest and highest value', () => {
    const text = formatMetricSeries({
      metric: 'query_latency',
      aggregation: 'p99',
      window_seconds: 300,
      resolution: '1m',
      from: '2026-03-01T10:00:00.000Z',
      to: '2026-03-01T10:15:00.000Z',
      timestamps: [1, 2, 3],
      series: [
        { name: 'checkout', values: [0.01, 0.03, null] },
        { name: 'search', values: [null, null, null] },
      ],
    });
    expect(text.split('\n')).toEqual([
      'query_latency (p99, 5m windows) 2026-03-01T10:00:00.000Z → 2026-03-01T10:15:00.000Z',
      'checkout  ▁█   last 0.03  min 0.01  max 0.03',
      `search${' '.repeat(9)}no data`,
    ]);
  });
});
