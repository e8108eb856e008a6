import { z } from 'zod';

/**
 * A series request (`GET /v1/environments/:id/metrics/series`): a metric (`query_count`, `query_latency`,
 * `query_error_rate`, `query_cache_hit_rate`, `resolver_latency`, `feature_null_ratio`, ...), `[from, to)`,
 * a window of whole minutes (`1m`, `5m`, `1h`), an aggregation (`sum`, `rate`, `ratio`, `mean`, `min`,
 * `max`, `p50`, `p75`, `p95`, `p99`; default the metric's first), series names to keep, and `group_by`.
 */
export interface MetricSeriesRequest {
  readonly metric: string;
  readonly from: Date | string;
  readonly to: Date | string;
  readonly window?: string;
  readonly aggregation?: string;
  readonly names?: readonly string[];
  readonly groupBy?: 'name';
}

/** The same request as the route's query string takes it (what a browser sends as is). */
export interface MetricSeriesQuery {
  readonly metric: string;
  readonly from: string;
  readonly to: string;
  readonly window?: string;
  readonly aggregation?: string;
  readonly name?: string;
  readonly group_by?: 'name';
}

/** A series answer: bucket starts (epoch seconds) and one value per bucket per group (`null`: nothing measured). */
export const MetricSeriesSchema = z.looseObject({
  metric: z.string(),
  aggregation: z.string(),
  window_seconds: z.number(),
  resolution: z.string(),
  from: z.string(),
  to: z.string(),
  timestamps: z.array(z.number()),
  series: z.array(z.looseObject({ name: z.string().nullable(), values: z.array(z.number().nullable()) })),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

/** The query string of a series request. */
export function metricSeriesQuery(request: MetricSeriesRequest): string {
  const params = new URLSearchParams();
  params.set('metric', request.metric);
  params.set('from', new Date(request.from).toISOString());
  params.set('to', new Date(request.to).toISOString());
  if (request.window) params.set('window', request.window);
  if (request.aggregation) params.set('aggregation', request.aggregation);
  for (const name of request.names ?? []) params.append('name', name);
  if (request.groupBy) params.set('group_by', request.groupBy);
  return params.toString();
}
