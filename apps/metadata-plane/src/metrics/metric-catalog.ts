import {
  type LogHistogram,
  logHistogramQuantile,
  type MetricRollupKind,
  WINDOW_FUNCTIONS,
  type WindowFunction,
} from '@slate/graph';

/** How the points of one window are reduced to one value. */
export const METRIC_AGGREGATIONS = WINDOW_FUNCTIONS;
export type MetricAggregation = WindowFunction;

/** The merged rollups of one series over one window: sums of counters, extremes, a merged sketch. */
export interface MetricAccumulator {
  count: number;
  errors: number;
  nulls: number;
  hits: number;
  misses: number;
  sum: number;
  min: number | null;
  max: number | null;
  hist: LogHistogram | null;
}

/** A stored row's counters and sketch as an accumulator (the sketch copied: merging mutates). */
export function accumulatorOf(row: {
  count: number;
  errors: number;
  nulls: number;
  hits: number;
  misses: number;
  sum: number;
  min: number | null;
  max: number | null;
  hist: LogHistogram | null;
}): MetricAccumulator {
  return {
    count: row.count,
    errors: row.errors,
    nulls: row.nulls,
    hits: row.hits,
    misses: row.misses,
    sum: row.sum,
    min: row.min,
    max: row.max,
    hist: row.hist ? { ...row.hist } : null,
  };
}

/** The accumulator of a window with nothing in it. */
export function emptyAccumulator(): MetricAccumulator {
  return { count: 0, errors: 0, nulls: 0, hits: 0, misses: 0, sum: 0, min: null, max: null, hist: null };
}

interface MetricDefinition {
  readonly kind: MetricRollupKind;
  readonly description: string;
  readonly aggregations: readonly MetricAggregation[];
  /** The value of a window; `null` when there is nothing to measure (no queries, so no latency). */
  readonly value: (
    acc: MetricAccumulator,
    aggregation: MetricAggregation,
    windowSeconds: number,
  ) => number | null;
}

const total =
  (field: 'count' | 'errors' | 'nulls' | 'hits' | 'misses') =>
  (acc: MetricAccumulator, aggregation: MetricAggregation, windowSeconds: number) =>
    aggregation === 'rate' ? acc[field] / windowSeconds : acc[field];
const ratio =
  (top: (a: MetricAccumulator) => number, bottom: (a: MetricAccumulator) => number) =>
  (acc: MetricAccumulator) => {
    const d = bottom(acc);
    return d > 0 ? top(acc) / d : null;
  };
/** The number of sampled values: the sketch's total (stream lag is sampled per batch, not per message). */
const samples = (acc: MetricAccumulator): number =>
  acc.hist ? Object.values(acc.hist).reduce((n, c) => n + c, 0) : acc.count;
const distribution = (acc: MetricAccumulator, aggregation: MetricAggregation): number | null => {
  const n = samples(acc);
  if (n === 0) return null;
  switch (aggregation) {
    case 'mean':
      return acc.sum / n;
    case 'min':
      return acc.min;
    case 'max':
      return acc.max;
    default: {
      const q = { p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 }[aggregation as 'p50'];
      if (!acc.hist || q === undefined) return null;
      return logHistogramQuantile(
        acc.hist,
        q,
        acc.min !== null && acc.max !== null ? { min: acc.min, max: acc.max } : undefined,
      );
    }
  }
};
const COUNTS = ['sum', 'rate'] as const;
const QUANTILES = ['p50', 'p75', 'p95', 'p99', 'mean', 'min', 'max'] as const;
const RATIO = ['ratio'] as const;

/**
 * The metrics a series can chart, after the seed product's metric kinds (chalk.md §6.1). The first
 * aggregation of each is its default. `name` filters and groups by the kind's series name: the query name
 * for `query_*`, the resolver FQN for `resolver_*`, `stream_*` and `run_*`, the feature FQN for
 * `feature_*` and `online_store_*`, the schedule kind for `schedule_*`.
 */
export const METRICS = {
  query_count: {
    kind: 'query',
    description: 'Online queries answered',
    aggregations: COUNTS,
    value: total('count'),
  },
  query_latency: {
    kind: 'query',
    description: 'Online query latency, seconds',
    aggregations: QUANTILES,
    value: distribution,
  },
  query_errors: {
    kind: 'query',
    description: 'Queries with an error',
    aggregations: COUNTS,
    value: total('errors'),
  },
  query_error_rate: {
    kind: 'query',
    description: 'Share of queries with an error',
    aggregations: RATIO,
    value: ratio(
      (a) => a.errors,
      (a) => a.count,
    ),
  },
  query_cache_hit_rate: {
    kind: 'query',
    description: 'Share of output values served from the online store',
    aggregations: RATIO,
    value: ratio(
      (a) => a.hits,
      (a) => a.hits + a.misses,
    ),
  },
  resolver_count: {
    kind: 'resolver',
    description: 'Resolver calls',
    aggregations: COUNTS,
    value: total('count'),
  },
  resolver_latency: {
    kind: 'resolver',
    description: 'Resolver call latency, seconds',
    aggregations: QUANTILES,
    value: distribution,
  },
  resolver_errors: {
    kind: 'resolver',
    description: 'Failed resolver calls',
    aggregations: COUNTS,
    value: total('errors'),
  },
  resolver_error_rate: {
    kind: 'resolver',
    description: 'Share of resolver calls that failed',
    aggregations: RATIO,
    value: ratio(
      (a) => a.errors,
      (a) => a.count,
    ),
  },
  feature_request_count: {
    kind: 'feature',
    description: 'Feature values requested',
    aggregations: COUNTS,
    value: total('count'),
  },
  feature_error_rate: {
    kind: 'feature',
    description: 'Share of feature values in error',
    aggregations: RATIO,
    value: ratio(
      (a) => a.errors,
      (a) => a.count,
    ),
  },
  feature_null_ratio: {
    kind: 'feature',
    description: 'Share of feature values that are null',
    aggregations: RATIO,
    value: ratio(
      (a) => a.nulls,
      (a) => a.count,
    ),
  },
  feature_value: {
    kind: 'feature',
    description: 'Numeric feature values (mean, min, max)',
    aggregations: ['mean', 'min', 'max'],
    // A feature has one type: its values are all numeric or none are (then `min` stays null). The non-null
    // values without error are the numeric ones.
    value: (acc, aggregation) => {
      if (acc.min === null) return null;
      if (aggregation === 'min') return acc.min;
      if (aggregation === 'max') return acc.max;
      const numeric = acc.count - acc.nulls - acc.errors;
      return numeric > 0 ? acc.sum / numeric : null;
    },
  },
  online_store_hits: {
    kind: 'feature',
    description: 'Feature values served from the online store',
    aggregations: COUNTS,
    value: total('hits'),
  },
  online_store_misses: {
    kind: 'feature',
    description: 'Feature values not in the online store (computed)',
    aggregations: COUNTS,
    value: total('misses'),
  },
  online_store_hit_rate: {
    kind: 'feature',
    description: 'Share of feature values served from the online store',
    aggregations: RATIO,
    value: ratio(
      (a) => a.hits,
      (a) => a.hits + a.misses,
    ),
  },
  stream_message_count: {
    kind: 'stream',
    description: 'Stream messages consumed',
    aggregations: COUNTS,
    value: total('count'),
  },
  stream_errors: {
    kind: 'stream',
    description: 'Stream messages dead-lettered',
    aggregations: COUNTS,
    value: total('errors'),
  },
  stream_lag: {
    kind: 'stream',
    description: 'Stream consumer lag, seconds',
    aggregations: ['max', 'mean', 'p50', 'p75', 'p95', 'p99', 'min'],
    value: distribution,
  },
  run_count: { kind: 'run', description: 'Runs finished', aggregations: COUNTS, value: total('count') },
  run_errors: { kind: 'run', description: 'Runs failed', aggregations: COUNTS, value: total('errors') },
  run_error_rate: {
    kind: 'run',
    description: 'Share of runs that failed',
    aggregations: RATIO,
    value: ratio(
      (a) => a.errors,
      (a) => a.count,
    ),
  },
  run_latency: {
    kind: 'run',
    description: 'Run duration, seconds',
    aggregations: QUANTILES,
    value: distribution,
  },
  schedule_count: {
    kind: 'schedule',
    description: 'Scheduled fires finished',
    aggregations: COUNTS,
    value: total('count'),
  },
  schedule_errors: {
    kind: 'schedule',
    description: 'Scheduled fires failed',
    aggregations: COUNTS,
    value: total('errors'),
  },
  schedule_error_rate: {
    kind: 'schedule',
    description: 'Share of scheduled fires that failed',
    aggregations: RATIO,
    value: ratio(
      (a) => a.errors,
      (a) => a.count,
    ),
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as [MetricName, ...MetricName[]];

/** The definition of a metric (its rollup kind, aggregations and value). */
export function metricDefinition(metric: MetricName): MetricDefinition {
  return METRICS[metric];
}
