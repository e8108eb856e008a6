import { z } from 'zod';
import { SourceLocationSchema } from './source-location-schema.ts';

/**
 * Charts, alert triggers and drift checks as the deployment ships them (chalk.md §6.1: `MetricConfig`,
 * `MetricConfigSeries`, `AlertTrigger`; feature drift by the two-sample Kolmogorov–Smirnov statistic).
 * The metadata plane evaluates them on the `metric-check-trigger` queue.
 */

const COUNTS = ['sum', 'rate'] as const;
const RATIO = ['ratio'] as const;
const QUANTILES = ['p50', 'p75', 'p95', 'p99', 'mean', 'min', 'max'] as const;

/**
 * Metric kinds a series reads (the metadata plane's metric catalog, after the seed product's `MetricKind`s),
 * each with the dimension it is filtered and grouped by and its window functions (the first is the
 * default). Counts are sums over the window (`rate`: per second); `*_rate` and `*_ratio` lie in [0, 1];
 * latency and lag are seconds.
 */
export const METRIC_KINDS = {
  query_count: { dimension: 'query_name', windowFunctions: COUNTS },
  query_latency: { dimension: 'query_name', windowFunctions: QUANTILES },
  query_errors: { dimension: 'query_name', windowFunctions: COUNTS },
  query_error_rate: { dimension: 'query_name', windowFunctions: RATIO },
  query_cache_hit_rate: { dimension: 'query_name', windowFunctions: RATIO },
  resolver_count: { dimension: 'resolver', windowFunctions: COUNTS },
  resolver_latency: { dimension: 'resolver', windowFunctions: QUANTILES },
  resolver_errors: { dimension: 'resolver', windowFunctions: COUNTS },
  resolver_error_rate: { dimension: 'resolver', windowFunctions: RATIO },
  feature_request_count: { dimension: 'feature', windowFunctions: COUNTS },
  feature_error_rate: { dimension: 'feature', windowFunctions: RATIO },
  feature_null_ratio: { dimension: 'feature', windowFunctions: RATIO },
  feature_value: { dimension: 'feature', windowFunctions: ['mean', 'min', 'max'] },
  online_store_hits: { dimension: 'feature', windowFunctions: COUNTS },
  online_store_misses: { dimension: 'feature', windowFunctions: COUNTS },
  online_store_hit_rate: { dimension: 'feature', windowFunctions: RATIO },
  stream_message_count: { dimension: 'resolver', windowFunctions: COUNTS },
  stream_errors: { dimension: 'resolver', windowFunctions: COUNTS },
  stream_lag: { dimension: 'resolver', windowFunctions: ['max', 'mean', 'p50', 'p75', 'p95', 'p99', 'min'] },
  run_count: { dimension: 'resolver', windowFunctions: COUNTS },
  run_errors: { dimension: 'resolver', windowFunctions: COUNTS },
  run_error_rate: { dimension: 'resolver', windowFunctions: RATIO },
  run_latency: { dimension: 'resolver', windowFunctions: QUANTILES },
  schedule_count: { dimension: 'schedule_kind', windowFunctions: COUNTS },
  schedule_errors: { dimension: 'schedule_kind', windowFunctions: COUNTS },
  schedule_error_rate: { dimension: 'schedule_kind', windowFunctions: RATIO },
} as const satisfies Record<
  string,
  { dimension: MetricDimension; windowFunctions: readonly WindowFunction[] }
>;
export type MetricKind = keyof typeof METRIC_KINDS;
export const MetricKindSchema = z.enum(Object.keys(METRIC_KINDS) as [MetricKind, ...MetricKind[]]);

/** What a series can be filtered and grouped by (`schedule_kind`: `resolver` or `query`). */
export const METRIC_DIMENSIONS = ['query_name', 'resolver', 'feature', 'schedule_kind'] as const;
export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];
export const MetricDimensionSchema = z.enum(METRIC_DIMENSIONS);

/**
 * How a series reduces its window to one value per group (Chalk's `window_function`): `sum`, `rate` (per
 * second), `ratio` (of the kind's counters over the whole window), `mean`, `min`, `max` and the quantiles
 * `p50`…`p99` of the merged latency sketch.
 */
export const WINDOW_FUNCTIONS = [
  'sum',
  'rate',
  'ratio',
  'mean',
  'min',
  'max',
  'p50',
  'p75',
  'p95',
  'p99',
] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

const checkName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . and -, at most 100');
const seriesName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'an identifier, at most 64');

export const MetricSeriesSpecSchema = z.object({
  name: seriesName,
  metric: MetricKindSchema,
  windowFunction: z.enum(WINDOW_FUNCTIONS),
  /** Only points whose dimension is one of these (resolver FQNs, feature FQNs or query names). */
  filters: z.partialRecord(MetricDimensionSchema, z.array(z.string().min(1)).min(1)).default({}),
  /** One value per distinct value of these dimensions (none: one value for everything that matched). */
  groupBy: z.array(MetricDimensionSchema).max(1).default([]),
});
export type MetricSeriesSpec = z.infer<typeof MetricSeriesSpecSchema>;

/**
 * Formulas over series (Chalk's `sum, total ratio, ratio, product, abs`), per group: `ratio` divides group
 * by group (a/b), `total_ratio` divides the totals over every group, `sum` and `product` combine any
 * number of series, `abs` takes one.
 */
export const FORMULA_KINDS = ['sum', 'ratio', 'total_ratio', 'product', 'abs'] as const;
export type FormulaKind = (typeof FORMULA_KINDS)[number];
export const MetricFormulaSpecSchema = z.object({
  name: seriesName,
  kind: z.enum(FORMULA_KINDS),
  /** Series (or earlier formulas) by name, in order (`ratio`: numerator then denominator). */
  operands: z.array(seriesName).min(1).max(16),
});
export type MetricFormulaSpec = z.infer<typeof MetricFormulaSpecSchema>;

export const ALERT_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const AlertSeveritySchema = z.enum(ALERT_SEVERITIES);

/** Routing keys: which owner's routes receive an alert. */
const ownerName = z.string().min(1).max(200);

/** An alert trigger on one series or formula: fires while a group's value is past the threshold. */
export const AlertTriggerSpecSchema = z.object({
  name: checkName,
  /** The series or formula it watches. */
  series: seriesName,
  threshold: z.number().finite(),
  direction: z.enum(['above', 'below']),
  severity: AlertSeveritySchema,
  /** Routes of this owner receive the alert (routes for `*` receive every owner's). */
  owner: ownerName,
  description: z.string().max(2_000).optional(),
});
export type AlertTriggerSpec = z.infer<typeof AlertTriggerSpecSchema>;

/** A chart: series over a window, formulas over them, and at most one trigger (Chalk's `MetricConfig`). */
export const ChartSpecSchema = z.object({
  name: checkName,
  /**
   * The window each evaluation reads, seconds (Chalk's `window_period`): whole minutes, at most 30 days
   * (lint: `INVALID_WINDOW`).
   */
  windowS: z.number().int().positive(),
  /** How often the trigger is evaluated, seconds: whole minutes (lint: `INVALID_WINDOW`). Default 60. */
  everyS: z.number().int().positive().default(60),
  series: z.array(MetricSeriesSpecSchema).min(1).max(16),
  formulas: z.array(MetricFormulaSpecSchema).max(16).default([]),
  trigger: AlertTriggerSpecSchema.optional(),
  /** Resolver, feature or query-name pages that show the chart. */
  links: z.array(z.string()).default([]),
  description: z.string().max(2_000).optional(),
  source: SourceLocationSchema.optional(),
});
export type ChartSpec = z.infer<typeof ChartSpecSchema>;

/**
 * Feature drift: the two-sample Kolmogorov–Smirnov statistic between a feature's values observed in the
 * last `windowS` and its column in a named dataset (the newest revision); alerts at `threshold` or more.
 */
export const DriftCheckSpecSchema = z.object({
  name: checkName,
  /** A scalar numeric feature. */
  feature: z.string().min(1),
  /** A dataset named at `offline_query` time (`dataset_name`) that holds the feature's column. */
  dataset: z.string().min(1).max(200),
  /** Recent values are those observed in this many seconds: whole minutes, at most 90 days. */
  windowS: z.number().int().positive(),
  /** Whole minutes. Default one hour. */
  everyS: z.number().int().positive().default(3_600),
  /** KS statistic (0..1) at or above which the check fires. */
  threshold: z.number().gt(0).max(1),
  /** Fewer recent values than this: the check neither fires nor clears. */
  minSamples: z.number().int().min(1).default(30),
  severity: AlertSeveritySchema.default('warning'),
  owner: ownerName,
  description: z.string().max(2_000).optional(),
  source: SourceLocationSchema.optional(),
});
export type DriftCheckSpec = z.infer<typeof DriftCheckSpecSchema>;
