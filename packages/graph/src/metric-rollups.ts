import { z } from 'zod';

/**
 * Per-minute metric rollups: what a data plane counts on its serving path and reports to the metadata
 * plane, which stores them as time series (issue 17, ADR "metric rollups"). Shared by both planes: the
 * wire schema of a report and the mergeable latency sketch.
 *
 * Every rollup point is one series (`kind` + `name`) of one environment over one UTC minute. The columns
 * mean, per kind (the metric kinds of the seed product, chalk.md §6.1):
 *
 * | kind       | name            | count            | errors             | nulls        | hits / misses              | sum/min/max/hist |
 * |------------|-----------------|------------------|--------------------|--------------|----------------------------|------------------|
 * | `query`    | query name      | queries answered | queries with error | –            | output values from the online store / computed | latency seconds |
 * | `resolver` | resolver FQN    | calls            | failed calls       | –            | –                          | latency seconds  |
 * | `feature`  | feature FQN     | values requested | values in error    | null values  | from the online store / computed | numeric values (no hist) |
 * | `stream`   | resolver FQN    | messages         | dead-lettered      | –            | –                          | consumer lag seconds per batch |
 * | `run`      | resolver / kind | runs finished    | runs failed        | –            | –                          | run seconds      |
 * | `schedule` | schedule kind   | fires finished   | fires failed       | –            | –                          | –                |
 */
export const METRIC_ROLLUP_KINDS = ['query', 'resolver', 'feature', 'stream', 'run', 'schedule'] as const;
export type MetricRollupKind = (typeof METRIC_ROLLUP_KINDS)[number];

/**
 * Bucket scale of {@link LogHistogram}: buckets grow by 2^(1/8) ≈ 1.09, as Prometheus native histograms
 * with schema 3, so any quantile read back is within ~4.4% of the true value.
 */
export const LOG_HISTOGRAM_SCALE = 8;

/** Values at or below this are counted in the zero bucket (`"z"`). */
const ZERO_THRESHOLD = 1e-9;

/**
 * A mergeable latency sketch: counts per exponential bucket, keyed by bucket index (as a string, the way
 * it is stored in PostgreSQL `jsonb`), plus `"z"` for values ≤ 1e-9. Merging two is adding counts per key,
 * which is exact, so minute points merge into hours, instances into a data plane, without loss.
 */
export type LogHistogram = Record<string, number>;

/** The bucket key of a value: bucket `i` holds (2^((i-1)/8), 2^(i/8)]. */
export function logHistogramKey(value: number): string {
  if (!(value > ZERO_THRESHOLD)) return 'z';
  return String(Math.ceil(Math.log2(value) * LOG_HISTOGRAM_SCALE));
}

/** Adds `from` into `into` (mutates and returns `into`). */
export function mergeLogHistograms(into: LogHistogram, from: Readonly<LogHistogram>): LogHistogram {
  for (const key in from) into[key] = (into[key] ?? 0) + (from[key] ?? 0);
  return into;
}

/**
 * The `q`-quantile (0..1) of a sketch: the geometric middle of the bucket holding it, clamped to the
 * observed `[min, max]` when given. `null` for an empty sketch.
 *
 * @example
 * logHistogramQuantile({ '0': 3, '8': 1 }, 0.5); // ≈ 0.96 (the bucket (2^-1/8, 1])
 */
export function logHistogramQuantile(
  histogram: Readonly<LogHistogram>,
  q: number,
  bounds?: { min: number; max: number },
): number | null {
  let total = 0;
  const buckets: [number, number][] = [];
  for (const key in histogram) {
    const n = histogram[key] ?? 0;
    if (n <= 0) continue;
    total += n;
    buckets.push([key === 'z' ? Number.NEGATIVE_INFINITY : Number(key), n]);
  }
  if (total === 0) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  let value = 0;
  for (const [index, n] of buckets) {
    seen += n;
    if (seen >= rank) {
      value = index === Number.NEGATIVE_INFINITY ? 0 : 2 ** ((index - 0.5) / LOG_HISTOGRAM_SCALE);
      break;
    }
  }
  if (bounds) value = Math.min(bounds.max, Math.max(bounds.min, value));
  return value;
}

/** One series of one environment over one UTC minute. */
export const MetricRollupPointSchema = z.object({
  environment_id: z.string().min(1).max(200),
  kind: z.enum(METRIC_ROLLUP_KINDS),
  /** Query name (`Unnamed` for ad-hoc queries), resolver or feature FQN, schedule kind... */
  name: z.string().min(1).max(300),
  /** The minute's start, UTC (seconds and below must be zero). */
  minute: z.iso.datetime({ offset: true }),
  count: z.number().nonnegative().finite(),
  errors: z.number().nonnegative().finite().default(0),
  nulls: z.number().nonnegative().finite().default(0),
  hits: z.number().nonnegative().finite().default(0),
  misses: z.number().nonnegative().finite().default(0),
  /** Sum, minimum and maximum of the observed values (latency seconds, lag, numeric feature values). */
  sum: z.number().finite().default(0),
  min: z.number().finite().nullable().default(null),
  max: z.number().finite().nullable().default(null),
  hist: z
    .record(z.string().regex(/^(z|-?\d{1,4})$/), z.number().nonnegative().finite())
    .refine((h) => Object.keys(h).length <= 2_000, 'at most 2000 buckets')
    .nullable()
    .default(null),
});
export type MetricRollupPoint = z.input<typeof MetricRollupPointSchema>;

/** The most points one report may carry (a data plane splits larger flushes). */
export const MAX_METRIC_REPORT_POINTS = 5_000;

/**
 * A data plane's batch of closed minutes. `source` names the reporting process (instance id and a
 * per-process nonce): a point is counted once per (source, environment, kind, name, minute), so a
 * retried report adds nothing, and a restarted instance (a new nonce) never collides with its former self.
 */
export const MetricReportSchema = z.object({
  source: z.string().min(8).max(200),
  points: z.array(MetricRollupPointSchema).max(MAX_METRIC_REPORT_POINTS),
});
export type MetricReport = z.input<typeof MetricReportSchema>;
