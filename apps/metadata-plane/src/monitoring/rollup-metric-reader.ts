import type { MetricDimension } from '@slate/graph';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import {
  accumulatorOf,
  emptyAccumulator,
  type MetricAccumulator,
  metricDefinition,
} from '../metrics/metric-catalog.ts';
import { mergeAccumulator } from '../metrics/metric-store.ts';
import type { MetricReader, SeriesGroup } from './evaluate-chart.ts';

const MINUTE = 60_000;

/**
 * Reads alert windows from the per-minute rollups (`metric_points`, resolution `1m`, written by the
 * metrics store): the minutes in `[from, to)` of the metric's kind, restricted to the filter's names,
 * merged per group over the whole window (so a ratio or quantile is the window's, not an average of
 * minutes) and per minute for the incident's chart. Values come from the metric catalog's definitions,
 * the same as `GET …/metrics/series`.
 */
export function createRollupMetricReader(db: Kysely<Database>): MetricReader {
  return {
    async querySeries(query) {
      const definition = metricDefinition(query.metric);
      const from = new Date(Math.floor(query.from.getTime() / MINUTE) * MINUTE);
      let select = db
        .selectFrom('metric_points')
        .selectAll()
        .where('environment_id', '=', query.environmentId)
        .where('resolution', '=', '1m')
        .where('kind', '=', definition.kind)
        .where('bucket', '>=', from)
        .where('bucket', '<', query.to);
      const names = Object.values(query.filters).flatMap((values) => [...(values ?? [])]);
      if (names.length > 0) select = select.where('name', 'in', names);
      const rows = await select.orderBy('bucket').execute();
      const dimension = query.groupBy[0] as MetricDimension | undefined;
      const groups = new Map<
        string,
        { window: MetricAccumulator; minutes: Map<number, MetricAccumulator> }
      >();
      for (const row of rows) {
        const key = dimension ? row.name : '';
        const acc = accumulatorOf(row);
        let group = groups.get(key);
        if (!group) {
          group = {
            window: emptyAccumulator(),
            minutes: new Map(),
          };
          groups.set(key, group);
        }
        mergeAccumulator(group.window, acc);
        const minute = row.bucket.getTime();
        const existing = group.minutes.get(minute);
        if (existing) mergeAccumulator(existing, acc);
        else group.minutes.set(minute, { ...acc, hist: acc.hist ? { ...acc.hist } : null });
      }
      const windowS = Math.max(60, (query.to.getTime() - from.getTime()) / 1000);
      return [...groups.entries()].map(
        ([key, group]): SeriesGroup => ({
          group: dimension ? { [dimension]: key } : {},
          value: definition.value(group.window, query.windowFunction, windowS),
          points: [...group.minutes.entries()].flatMap(([minute, acc]) => {
            const value = definition.value(acc, query.windowFunction, 60);
            return value === null ? [] : [{ at: new Date(minute), value }];
          }),
        }),
      );
    },
  };
}
