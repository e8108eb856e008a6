import { randomUUID } from 'node:crypto';
import type { EngineResult, ResolverRuntime } from '@slate/engine';
import {
  type LogHistogram,
  logHistogramKey,
  MAX_METRIC_REPORT_POINTS,
  type MetricReport,
  type MetricRollupKind,
  type MetricRollupPoint,
} from '@slate/graph';
import type { Logger } from 'pino';
import type { MetricReportOutcome } from '../control-plane/control-plane-client.ts';
import type { DeploymentLoader } from '../deployments/deployment-loader.ts';

/** Distinct series names kept per environment and kind; further new names count under `Other`. */
export const MAX_SERIES_PER_KIND = 1_000;
/** Closed points waiting for the metadata plane, by default (≈ an hour of 300 busy series). */
export const DEFAULT_METRIC_OUTBOX = 20_000;

/** Counters of the reporter itself. */
export interface MetricRollupStats {
  /** Closed points waiting to be accepted. */
  readonly buffered: number;
  /** Points accepted by the metadata plane. */
  readonly sent: number;
  /** Oldest points dropped because the outbox was full (the metadata plane away too long). */
  readonly dropped: number;
}

/**
 * Per-minute metric rollups of one data-plane process (issue 17; ADR 0020): queries,
 * resolver calls, feature values, stream batches, runs and scheduled fires, counted into pre-bound
 * accumulators for the current UTC minute, and reported to the metadata plane once the minute is over.
 *
 * Delivery is at least once: a batch stays in the outbox until the metadata plane accepts it, and the
 * metadata plane counts each (source, series, minute) once. The outbox is bounded (`maxBuffered` points):
 * when full, the oldest points are dropped and counted in `stats().dropped`.
 */
export interface MetricRollups {
  /** Counts the online queries (latency, errors, cache hits) and feature values each loaded engine answers. */
  wrapLoader(load: DeploymentLoader): DeploymentLoader;
  /** Counts and times every resolver call of one environment's runtime. */
  instrumentRuntime(runtime: ResolverRuntime, environmentId: string): ResolverRuntime;
  /** Records one consumed stream batch: messages, dead-lettered ones, and the consumer's lag. */
  observeStream(
    environmentId: string,
    resolver: string,
    messages: number,
    deadLettered: number,
    lagSeconds: number,
  ): void;
  /** Records a finished run (by resolver) or scheduled fire (by schedule name). */
  observeOutcome(
    environmentId: string,
    kind: 'run' | 'schedule',
    name: string,
    ok: boolean,
    seconds: number | null,
  ): void;
  /** Moves finished minutes to the outbox and sends it. Never throws: a failed send stays for the next. */
  flush(): Promise<void>;
  /** Starts reporting through `report` every `intervalMs`; `source` names this process (instance id). */
  start(report: (report: MetricReport) => Promise<MetricReportOutcome | undefined>, instanceId: string): void;
  /** Stops the timer, closes the current minute and sends what is left (one attempt). */
  stop(): Promise<void>;
  stats(): MetricRollupStats;
}

/** One series' accumulator for its current minute (mutated in place on the hot path). */
interface Series {
  readonly environment: string;
  readonly kind: MetricRollupKind;
  readonly name: string;
  minute: number;
  count: number;
  errors: number;
  nulls: number;
  hits: number;
  misses: number;
  sum: number;
  min: number;
  max: number;
  hist: LogHistogram | null;
}

/**
 * Creates the rollups.
 * @example
 * const rollups = createMetricRollups({ logger });
 * rollups.start((report) => control.reportMetrics(report), control.instanceId);
 */
export function createMetricRollups(
  options: { intervalMs?: number; maxBuffered?: number; now?: () => number; logger?: Logger } = {},
): MetricRollups {
  const now = options.now ?? Date.now;
  const maxBuffered = options.maxBuffered ?? DEFAULT_METRIC_OUTBOX;
  // environment → kind → name → series.
  const environments = new Map<string, Map<MetricRollupKind, Map<string, Series>>>();
  let outbox: MetricRollupPoint[] = [];
  let sent = 0;
  let dropped = 0;
  let report: ((report: MetricReport) => Promise<MetricReportOutcome | undefined>) | undefined;
  let source = '';
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const namesOf = (environment: string, kind: MetricRollupKind): Map<string, Series> => {
    let kinds = environments.get(environment);
    if (!kinds) {
      kinds = new Map();
      environments.set(environment, kinds);
    }
    let names = kinds.get(kind);
    if (!names) {
      names = new Map();
      kinds.set(kind, names);
    }
    return names;
  };

  const seriesOf = (environment: string, kind: MetricRollupKind, name: string): Series =>
    seriesIn(namesOf(environment, kind), environment, kind, name);

  const seriesIn = (
    names: Map<string, Series>,
    environment: string,
    kind: MetricRollupKind,
    name: string,
  ): Series => {
    let series = names.get(name);
    if (series === undefined) {
      // Names come from clients (query names): past the cap they share one series.
      const key = names.size < MAX_SERIES_PER_KIND ? name : 'Other';
      series = names.get(key);
      if (series === undefined) {
        series = {
          environment,
          kind,
          name: key,
          minute: 0,
          count: 0,
          errors: 0,
          nulls: 0,
          hits: 0,
          misses: 0,
          sum: 0,
          min: Number.POSITIVE_INFINITY,
          max: Number.NEGATIVE_INFINITY,
          hist: null,
        };
        names.set(key, series);
      }
    }
    return series;
  };

  /** Moves a series' finished minute to the outbox and resets it for `minute`. */
  const roll = (series: Series, minute: number) => {
    if (series.count > 0 || series.hist !== null) {
      const point: MetricRollupPoint = {
        environment_id: series.environment,
        kind: series.kind,
        name: series.name,
        minute: new Date(series.minute * 60_000).toISOString(),
        count: series.count,
        errors: series.errors,
        nulls: series.nulls,
        hits: series.hits,
        misses: series.misses,
        sum: series.sum,
        min: Number.isFinite(series.min) ? series.min : null,
        max: Number.isFinite(series.max) ? series.max : null,
        hist: series.hist,
      };
      outbox.push(point);
      if (outbox.length > maxBuffered) {
        const excess = outbox.length - maxBuffered;
        outbox.splice(0, excess);
        dropped += excess;
        options.logger?.warn(
          { dropped: excess, total_dropped: dropped },
          'metric rollup outbox full: oldest points dropped',
        );
      }
    }
    series.minute = minute;
    series.count = 0;
    series.errors = 0;
    series.nulls = 0;
    series.hits = 0;
    series.misses = 0;
    series.sum = 0;
    series.min = Number.POSITIVE_INFINITY;
    series.max = Number.NEGATIVE_INFINITY;
    series.hist = null;
  };

  /** The series, rolled over to the current minute. */
  const current = (environment: string, kind: MetricRollupKind, name: string): Series => {
    const series = seriesOf(environment, kind, name);
    const minute = Math.floor(now() / 60_000);
    if (series.minute !== minute) roll(series, minute);
    return series;
  };

  const observeValue = (series: Series, value: number, sketch: boolean) => {
    series.sum += value;
    if (value < series.min) series.min = value;
    if (value > series.max) series.max = value;
    if (sketch) {
      const key = logHistogramKey(value);
      if (series.hist === null) series.hist = {};
      const hist = series.hist;
      hist[key] = (hist[key] ?? 0) + 1;
    }
  };

  const observeQuery = (
    environment: string,
    queryName: string | undefined,
    seconds: number,
    result: EngineResult,
  ) => {
    // One clock read and one map walk per query; each feature is then one map lookup (the hot path).
    const minute = Math.floor(now() / 60_000);
    const query = seriesOf(environment, 'query', queryName || 'Unnamed');
    if (query.minute !== minute) roll(query, minute);
    query.count++;
    if (result.errors.length > 0) query.errors++;
    observeValue(query, seconds, true);
    const features = namesOf(environment, 'feature');
    for (const column of result.columns) {
      const feature = features.get(column.fqn) ?? seriesIn(features, environment, 'feature', column.fqn);
      if (feature.minute !== minute) roll(feature, minute);
      const { values, errors, cacheHits } = column;
      let hits = 0;
      for (let row = 0; row < values.length; row++) {
        feature.count++;
        if (cacheHits[row]) hits++;
        if (errors[row]) {
          feature.errors++;
          continue;
        }
        const value = values[row];
        if (value === null || value === undefined) feature.nulls++;
        else if (typeof value === 'number' && Number.isFinite(value)) observeValue(feature, value, false);
      }
      feature.hits += hits;
      feature.misses += values.length - hits;
      query.hits += hits;
      query.misses += values.length - hits;
    }
  };

  const closeFinished = (all: boolean) => {
    const minute = Math.floor(now() / 60_000);
    for (const kinds of environments.values())
      for (const names of kinds.values())
        for (const series of names.values()) if (all || series.minute < minute) roll(series, minute);
  };

  const send = async () => {
    closeFinished(false);
    if (!report || outbox.length === 0) return;
    // Batches are taken from the front; a failure leaves them there for the next flush.
    while (outbox.length > 0) {
      const batch = outbox.slice(0, MAX_METRIC_REPORT_POINTS);
      try {
        await report({ source, points: batch });
      } catch (error) {
        options.logger?.warn(
          { err: error instanceof Error ? error.message : String(error), buffered: outbox.length },
          'metric report failed; will retry',
        );
        return;
      }
      // Drops while sending removed from the front: remove what was sent by identity, not by count.
      const delivered = new Set(batch);
      outbox = outbox.filter((p) => !delivered.has(p));
      sent += batch.length;
    }
  };

  return {
    wrapLoader(load) {
      return async (environment, deployment, secrets) => {
        const engine = await load(environment, deployment, secrets);
        return {
          ...engine,
          async query(query) {
            if (query.kind === 'offline') return engine.query(query);
            const started = performance.now();
            const result = await engine.query(query);
            observeQuery(
              environment.id,
              query.labels?.queryName,
              (performance.now() - started) / 1000,
              result,
            );
            return result;
          },
        };
      };
    },
    instrumentRuntime(runtime, environmentId) {
      return {
        async call(request, signal) {
          const started = performance.now();
          let ok = false;
          try {
            const outcomes = await runtime.call(request, signal);
            ok = outcomes.every((outcome) => outcome.ok);
            return outcomes;
          } finally {
            const series = current(environmentId, 'resolver', request.resolver);
            series.count++;
            if (!ok) series.errors++;
            observeValue(series, (performance.now() - started) / 1000, true);
          }
        },
        close: () => runtime.close(),
      };
    },
    observeStream(environmentId, resolver, messages, deadLettered, lagSeconds) {
      const series = current(environmentId, 'stream', resolver);
      series.count += messages;
      series.errors += deadLettered;
      // The lag is sampled once per batch: its sketch counts batches (not messages), and so do its quantiles
      // and mean. An empty poll still counts a lag of 0 (caught up) and keeps the series alive.
      observeValue(series, lagSeconds, true);
    },
    observeOutcome(environmentId, kind, name, ok, seconds) {
      const series = current(environmentId, kind, name);
      series.count++;
      if (!ok) series.errors++;
      if (seconds !== null && Number.isFinite(seconds) && seconds >= 0) observeValue(series, seconds, true);
    },
    flush() {
      sending = sending.then(send);
      return sending;
    },
    start(reporter, instanceId) {
      report = reporter;
      // A nonce per process: a restarted instance's minutes never collide with its former self's receipts.
      source = `${instanceId}/${randomUUID()}`;
      timer ??= setInterval(() => void this.flush(), options.intervalMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      closeFinished(true);
      await this.flush();
    },
    stats() {
      return { buffered: outbox.length, sent, dropped };
    },
  };
}
