import { type Duration, parseDuration, SlateError, type SourceLocation } from '@slate/graph';
import type { WindowedRef } from './feature-class.ts';
import { callerLocation } from './source-location.ts';
import type { StreamMessage } from './stream.ts';

const windowedStreamBrand = Symbol.for('slate.windowed-stream-resolver');

/** The aggregations a windowed stream offers; each one's partial state merges across buckets. */
export type WindowAggregationFunction = 'count' | 'sum' | 'min' | 'max' | 'mean';

/** One aggregation of a windowed stream: a function over the rows of each window of a windowed feature. */
export interface WindowAggregation<R> {
  readonly function: WindowAggregationFunction;
  readonly feature: WindowedRef;
  /** The row's value to aggregate (`count`: whether the row counts); `null`/`undefined` rows are left out. */
  readonly of: (row: R) => number | boolean | null | undefined;
}

type NumericWindow = WindowedRef<string, number> | WindowedRef<string, number | null>;

/** Builds the aggregations of `windowedStream`, typed by the rows `parse` returns. */
export interface WindowAggregators<R> {
  /** Rows in the window (those passing `where`, when given); 0 for an empty window. */
  count(feature: NumericWindow, where?: (row: R) => boolean): WindowAggregation<R>;
  /** Sum of `of` over the window's rows; 0 for an empty window. */
  sum(feature: NumericWindow, of: (row: R) => number | null | undefined): WindowAggregation<R>;
  /** Smallest `of`; `null` (the feature's default) for an empty window. */
  min(feature: NumericWindow, of: (row: R) => number | null | undefined): WindowAggregation<R>;
  /** Largest `of`; `null` (the feature's default) for an empty window. */
  max(feature: NumericWindow, of: (row: R) => number | null | undefined): WindowAggregation<R>;
  /** Mean of `of`; `null` (the feature's default) for an empty window. */
  mean(feature: NumericWindow, of: (row: R) => number | null | undefined): WindowAggregation<R>;
}

/** Options of `windowedStream`. */
export interface WindowedStreamOptions<R> {
  /** The resolver's name; by default the name it is exported under. */
  readonly name?: string;
  /** The bus topic the resolver reads (Redis Streams or Kafka in production, the embedded log locally). */
  readonly source: { readonly topic: string };
  /**
   * Turns a message into a row; `undefined` skips the message. A throw sends the message to the topic's
   * dead-letter topic; the stream goes on.
   */
  readonly parse: (message: StreamMessage) => R | undefined;
  /** The entity the row belongs to: a value of the primary key of the aggregated features' namespace. */
  readonly key: (row: R) => string | number;
  /** The row's event time; by default when the message was published. */
  readonly time?: (row: R) => Date | number;
  /** The aggregations, one per windowed feature (all of one namespace), over every window of the feature. */
  readonly aggregate: (agg: WindowAggregators<R>) => readonly WindowAggregation<R>[];
  /**
   * `continuous` (default): a window of `10m` at time t covers the buckets from t - 10m to t (the oldest
   * bucket whole, so the trailing edge is exact to one `bucketDuration`); `tumbling`: the current
   * epoch-aligned window only (10:00–10:10, then 10:10–10:20).
   */
  readonly mode?: 'continuous' | 'tumbling';
  /**
   * `continuous` only: the width of the epoch-aligned buckets windows are made of; must divide every
   * window. Default: the largest divisor of the windows' greatest common divisor that is at most a tenth of
   * it (`1m` for `10m` and `1h` windows).
   */
  readonly bucketDuration?: Duration;
  /** Rows whose event time is longer ago than this are dropped (default: never). */
  readonly lateArrivalDeadline?: Duration;
  readonly environment?: string | readonly string[];
  readonly description?: string;
  readonly owner?: string;
}

/** A windowed streaming resolver declared with `windowedStream(...)`. */
export interface WindowedStreamResolver<R = unknown> {
  readonly [windowedStreamBrand]: WindowedStreamInternals<R>;
}

export interface WindowedStreamInternals<R = unknown> extends WindowedStreamOptions<R> {
  readonly location?: SourceLocation;
  readonly aggregations: readonly WindowAggregation<R>[];
  readonly namespace: string;
  readonly windowMode: 'continuous' | 'tumbling';
  readonly bucketS: number;
  /** Each aggregation's windows in seconds (`null` for `"all"`), aligned with `aggregations`. */
  readonly windows: readonly (readonly { readonly fqn: string; readonly seconds: number | null }[])[];
}

const aggregators = <R>(): WindowAggregators<R> => ({
  count: (feature, where) => ({
    function: 'count',
    feature,
    of: where ? (row) => where(row) : () => true,
  }),
  sum: (feature, of) => ({ function: 'sum', feature, of }),
  min: (feature, of) => ({ function: 'min', feature, of }),
  max: (feature, of) => ({ function: 'max', feature, of }),
  mean: (feature, of) => ({ function: 'mean', feature, of }),
});

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Declares a windowed streaming resolver (chalk's windowed stream kind): each message of `source.topic` is
 * parsed into a row of one entity (`key`), which is aggregated over every window of the windowed features
 * `aggregate` names (`count`, `sum`, `min`, `max`, `mean`). The features need no expression: the stream
 * computes them. The data plane keeps per-entity partial aggregates in epoch-aligned buckets (by event
 * time, so late and out-of-order rows land in the right bucket) in the online store, and emits every
 * window's value whenever a row changes it and whenever time moves a bucket out of a window; values are
 * persisted like any computed value (offline; online with `etlOfflineToOnline` and a max staleness) and
 * served under the windowed FQNs (`user.page_views__600__`). Delivery is at least once; each row counts
 * exactly once, across restarts.
 *
 * Limits: a value is rewritten only when it changes, so give the features a `maxStaleness` at least as
 * long as their longest window (or `'infinity'`), or queries fall back to the default in between. The
 * bucket state lives in the data plane's online store: with a non-persistent one (the embedded default of
 * `slate up`) a restart of the process starts the windows empty, as it forgets every online value. One
 * consumer must own an entity at a time (one data plane, or Kafka with messages keyed by entity).
 *
 * @throws SlateError `INVALID_RESOLVER` for an empty topic, no aggregation, features of several namespaces,
 *   a feature aggregated twice, a window that is not whole seconds, or a bucket that does not divide a window.
 * @example
 * export const page_view_windows = windowedStream({
 *   source: { topic: 'page-views' },
 *   parse: ({ value }) => JSON.parse(value) as { user_id: number; ms: number },
 *   key: (view) => view.user_id,
 *   aggregate: (agg) => [agg.count(User.page_views), agg.sum(User.time_on_site, (view) => view.ms)],
 * });
 */
export function windowedStream<R>(options: WindowedStreamOptions<R>): WindowedStreamResolver<R> {
  const location = callerLocation();
  const fail = (message: string) =>
    new SlateError(
      'input',
      'INVALID_RESOLVER',
      `${location ? `${location.file}:${location.line}: ` : ''}${message}`,
      { source: location },
    );
  if (!options.source?.topic) throw fail('a streaming resolver needs source.topic');
  const seconds = (text: Duration, what: string) => {
    try {
      return parseDuration(text);
    } catch {
      throw fail(`${what} '${text}' is not a duration`);
    }
  };
  if (options.lateArrivalDeadline !== undefined) seconds(options.lateArrivalDeadline, 'lateArrivalDeadline');
  const aggregations = options.aggregate(aggregators<R>());
  if (aggregations.length === 0) throw fail('a windowed stream needs at least one aggregation');
  const namespaces = new Set(aggregations.map((a) => a.feature.namespace));
  if (namespaces.size !== 1) throw fail('a windowed stream aggregates features of exactly one namespace');
  const features = aggregations.map((a) => a.feature.fqn);
  const twice = features.find((fqn, i) => features.indexOf(fqn) !== i);
  if (twice) throw fail(`${twice} is aggregated twice`);
  const windows = aggregations.map((a) =>
    a.feature.windows.map((fqn) => {
      const match = /__(\d+|all)__$/.exec(fqn);
      if (!match) throw fail(`${a.feature.fqn} is not a windowed feature`);
      return { fqn, seconds: match[1] === 'all' ? null : Number(match[1]) };
    }),
  );
  for (const [i, list] of windows.entries())
    for (const window of list) {
      const declared = window.seconds;
      if (declared !== null && (declared < 1 || !Number.isInteger(declared)))
        throw fail(`${aggregations[i]!.feature.fqn}: a streamed window must be whole seconds`);
    }
  const finite = windows.flat().flatMap((w) => (w.seconds === null ? [] : [w.seconds]));
  const common = finite.reduce(gcd, finite[0] ?? 60);
  const windowMode = options.mode ?? 'continuous';
  let bucketS: number;
  if (windowMode === 'tumbling') {
    if (options.bucketDuration !== undefined) throw fail('bucketDuration applies to continuous windows only');
    bucketS = common;
  } else if (options.bucketDuration !== undefined) {
    const bucket = seconds(options.bucketDuration, 'bucketDuration');
    if (bucket === null || bucket < 1 || !Number.isInteger(bucket))
      throw fail('bucketDuration must be whole seconds');
    const misfit = finite.find((w) => w % bucket !== 0);
    if (misfit !== undefined) throw fail(`bucketDuration ${bucket}s does not divide the window ${misfit}s`);
    bucketS = bucket;
  } else {
    bucketS = 1;
    for (let d = Math.max(1, Math.floor(common / 10)); d >= 1; d--)
      if (common % d === 0) {
        bucketS = d;
        break;
      }
  }
  return Object.freeze({
    [windowedStreamBrand]: Object.freeze({
      ...options,
      location,
      aggregations,
      namespace: [...namespaces][0]!,
      windowMode,
      bucketS,
      windows,
    }),
  }) as WindowedStreamResolver<R>;
}

export function isWindowedStreamResolver(value: unknown): value is WindowedStreamResolver {
  return typeof value === 'object' && value !== null && windowedStreamBrand in value;
}

export function windowedStreamInternals(resolver: WindowedStreamResolver): WindowedStreamInternals {
  return resolver[windowedStreamBrand] as WindowedStreamInternals;
}

/** The output carrying a windowed stream row's entity key. */
export const STREAM_KEY_OUTPUT = '__key';
/** The output carrying a windowed stream row's event time (epoch ms), when the resolver has `time`. */
export const STREAM_TIME_OUTPUT = '__time';
