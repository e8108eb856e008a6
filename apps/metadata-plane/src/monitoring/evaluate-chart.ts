import type { ChartSpec, MetricDimension, MetricKind, WindowFunction } from '@slate/graph';
import type { GroupVerdict } from './incidents.ts';
import type { SeriesPoint } from './monitoring-schema.ts';

/** One series query: a metric kind, reduced over [from, to) by `windowFunction`, per group. */
export interface SeriesQuery {
  readonly environmentId: string;
  readonly metric: MetricKind;
  readonly windowFunction: WindowFunction;
  readonly filters: Partial<Record<MetricDimension, readonly string[]>>;
  readonly groupBy: readonly MetricDimension[];
  readonly from: Date;
  readonly to: Date;
}

/** A group's answer: its window value and its value per minute. */
export interface SeriesGroup {
  /** The group's dimension values (empty without group-by). */
  readonly group: Readonly<Partial<Record<MetricDimension, string>>>;
  /** The window's value; null when no point fell in the window. */
  readonly value: number | null;
  /** Per minute, oldest first; minutes without data are absent. */
  readonly points: readonly { readonly at: Date; readonly value: number }[];
}

/** Reads the per-minute rollups (PostgreSQL, written from data planes' reports). */
export interface MetricReader {
  querySeries(query: SeriesQuery): Promise<SeriesGroup[]>;
}

/** `resolver=a,feature=b` in dimension order; `''` without group-by. */
export const groupKey = (group: SeriesGroup['group']) =>
  (Object.entries(group) as [string, string][])
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

interface Values {
  /** Window value per group key. */
  readonly window: Map<string, number | null>;
  /** Per-minute values per group key (minute ISO → value). */
  readonly minutes: Map<string, Map<string, number>>;
}

const combine = (kind: string, operands: readonly (number | null | undefined)[]): number | null => {
  if (operands.some((v) => v === null || v === undefined)) {
    // A sum over series treats a missing series as 0 only when some value exists.
    if (kind === 'sum' && operands.some((v) => typeof v === 'number'))
      return operands.reduce<number>((a, v) => a + (v ?? 0), 0);
    return null;
  }
  const values = operands as number[];
  switch (kind) {
    case 'sum':
      return values.reduce((a, v) => a + v, 0);
    case 'product':
      return values.reduce((a, v) => a * v, 1);
    case 'abs':
      return Math.abs(values[0]!);
    default: {
      const [numerator, denominator] = values as [number, number];
      return denominator === 0 ? null : numerator / denominator;
    }
  }
};

/**
 * Evaluates a chart's trigger over the window ending at `at`: reads each series, computes formulas per
 * group (`total_ratio` over the totals of every group), and returns a verdict per group of the watched
 * series. A group fires when its value is strictly past the threshold in the trigger's direction.
 *
 * @example
 * const verdicts = await evaluateChart(reader, 'prod', chart, new Date());
 */
export async function evaluateChart(
  reader: MetricReader,
  environmentId: string,
  chart: ChartSpec,
  at: Date,
): Promise<GroupVerdict[]> {
  const trigger = chart.trigger;
  if (!trigger) return [];
  const from = new Date(at.getTime() - chart.windowS * 1000);
  const values = new Map<string, Values>();
  await Promise.all(
    chart.series.map(async (series) => {
      const groups = await reader.querySeries({
        environmentId,
        metric: series.metric,
        windowFunction: series.windowFunction,
        filters: series.filters,
        groupBy: series.groupBy,
        from,
        to: at,
      });
      const window = new Map<string, number | null>();
      const minutes = new Map<string, Map<string, number>>();
      for (const g of groups) {
        const key = groupKey(g.group);
        window.set(key, g.value);
        minutes.set(key, new Map(g.points.map((p) => [p.at.toISOString(), p.value])));
      }
      values.set(series.name, { window, minutes });
    }),
  );
  for (const formula of chart.formulas) {
    const operands = formula.operands.map((name) => values.get(name)!);
    // Groups: those of any operand (a ratio of grouped over ungrouped series broadcasts the ungrouped one).
    const keys = new Set(operands.flatMap((o) => [...o.window.keys()]));
    const pick = <T>(map: Map<string, T>, key: string) => (map.has(key) ? map.get(key) : map.get(''));
    const window = new Map<string, number | null>();
    const minutes = new Map<string, Map<string, number>>();
    if (formula.kind === 'total_ratio') {
      const total = (o: Values) => [...o.window.values()].reduce<number>((a, v) => a + (v ?? 0), 0);
      window.set('', combine('ratio', operands.map(total)));
    } else {
      for (const key of keys) {
        window.set(
          key,
          combine(
            formula.kind,
            operands.map((o) => pick(o.window, key)),
          ),
        );
        const series = new Map<string, number>();
        const times = new Set(operands.flatMap((o) => [...(pick(o.minutes, key)?.keys() ?? [])]));
        for (const time of times) {
          const v = combine(
            formula.kind,
            operands.map((o) => pick(o.minutes, key)?.get(time)),
          );
          if (v !== null) series.set(time, v);
        }
        minutes.set(key, series);
      }
    }
    values.set(formula.name, { window, minutes });
  }
  const watched = values.get(trigger.series);
  if (!watched) return [];
  return [...watched.window.entries()].map(([group, value]) => ({
    group,
    value,
    firing:
      value !== null &&
      (trigger.direction === 'above' ? value > trigger.threshold : value < trigger.threshold),
    series: [...(watched.minutes.get(group) ?? new Map<string, number>()).entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([time, v]): SeriesPoint => ({ at: time, value: v })),
  }));
}
