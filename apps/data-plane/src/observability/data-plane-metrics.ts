import type { EngineResult, ResolverRuntime } from '@slate/engine';
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { ResultPublisherStats } from '../persistence/result-publisher.ts';

/** Distinct `id` labels of query metrics kept before new query names are counted as `Other`. */
export const MAX_QUERY_LABELS = 1000;

/** Quantiles every latency summary reports (the seed product's: chalk.md §6.2). */
const percentiles = [0.5, 0.75, 0.95, 0.99];

/**
 * The data plane's Prometheus metrics, named as the seed product exports them (chalk.md §6.2):
 * `query_latency_seconds` and `resolver_latency_seconds` (summaries, label `id` = query name or `Unnamed`,
 * resolver FQN), `query_request`, `feature_request` and `resolver_request` (counters with `status` =
 * `success`|`failure`; `feature_request` also `context` = `inference`). Each instance has its own registry,
 * so several servers in one process (tests, `slate up`) never collide.
 */
export interface DataPlaneMetrics {
  readonly registry: Registry;
  /** Records one answered query: its latency, outcome, and per feature how many rows succeeded or failed. */
  observeQuery(queryName: string | undefined, seconds: number, result: EngineResult): void;
  /** Wraps a runtime so every resolver call is timed and counted. */
  instrumentRuntime(runtime: ResolverRuntime): ResolverRuntime;
  /**
   * Records a streaming resolver's consumed batch: messages by outcome (`success`, `skipped`, `late`,
   * `dead_letter`) and the consumer's lag, seconds from the newest message's publication to its processing
   * (0 when the consumer is caught up), as `stream_messages` and `stream_consumer_lag_seconds` (label
   * `resolver`). `environment` is for the per-minute rollups (Prometheus labels do not carry it).
   */
  observeStream(
    resolver: string,
    counts: Readonly<Partial<Record<StreamOutcome, number>>>,
    lagSeconds: number,
    environment?: string,
  ): void;
  /**
   * Exports a result publisher's levels and counts, read at scrape time: `result_publisher_queued_messages`,
   * `result_publisher_waiting_callers` (gauges), `result_publisher_published`, `result_publisher_shed`
   * (queries refused with 503 `RESULT_BUS_FULL`) and `result_publisher_dropped` (messages the bus refused on
   * every attempt) as counters.
   */
  watchResultPublisher(stats: () => ResultPublisherStats): void;
  /** The exposition text and its content type, for `GET /metrics`. */
  render(): Promise<{ contentType: string; text: string }>;
}

/** What became of a consumed stream message. */
export type StreamOutcome = 'success' | 'skipped' | 'late' | 'dead_letter';

/**
 * Creates the metrics. Label children are cached per label value so the hot path never hashes label
 * objects (a query of 100 features touches 100 counters).
 *
 * @example
 * const metrics = createDataPlaneMetrics();
 * const runtime = metrics.instrumentRuntime(await createWorkerRuntime({ bundlePath }));
 */
export function createDataPlaneMetrics(): DataPlaneMetrics {
  const registry = new Registry();
  // Each observation is pushed into every age bucket's t-digest: with 2 buckets the quantiles cover the last
  // 5–10 minutes for 2 digest updates per query, where 5 buckets (the last 8–10 minutes) cost 5 — the
  // largest share of the metrics' cost on the query path in the serving profile.
  const summary = { percentiles, maxAgeSeconds: 600, ageBuckets: 2, registers: [registry] };
  const queryLatency = new Summary({
    name: 'query_latency_seconds',
    help: 'Online query latency in seconds, by query name (Unnamed for ad-hoc queries)',
    labelNames: ['id'] as const,
    ...summary,
  });
  const queryRequest = new Counter({
    name: 'query_request',
    help: 'Online queries answered, by query name and status',
    labelNames: ['id', 'status'] as const,
    registers: [registry],
  });
  // Feature counts are tallied in plain numbers on the hot path (100 features per query) and handed to
  // the counter when Prometheus scrapes.
  const featureTallies = new Map<string, { ok: number; failed: number }>();
  new Counter({
    name: 'feature_request',
    help: 'Feature values requested, by feature, status and context',
    labelNames: ['id', 'status', 'context'] as const,
    registers: [registry],
    collect() {
      for (const [id, tally] of featureTallies) {
        if (tally.ok > 0) this.inc({ id, status: 'success', context: 'inference' }, tally.ok);
        if (tally.failed > 0) this.inc({ id, status: 'failure', context: 'inference' }, tally.failed);
        tally.ok = 0;
        tally.failed = 0;
      }
    },
  });
  const resolverLatency = new Summary({
    name: 'resolver_latency_seconds',
    help: 'Resolver call latency in seconds (one call serves every row of a query)',
    labelNames: ['id', 'resolver_type'] as const,
    ...summary,
  });
  const resolverRequest = new Counter({
    name: 'resolver_request',
    help: 'Resolver calls, by resolver and status',
    labelNames: ['id', 'status'] as const,
    registers: [registry],
  });

  const cached = <T>(cache: Map<string, T>, key: string, make: () => T): T => {
    let child = cache.get(key);
    if (child === undefined) {
      child = make();
      cache.set(key, child);
    }
    return child;
  };
  const queryChildren = new Map<
    string,
    { latency: Summary.Internal<'id'>; ok: Counter.Internal; failed: Counter.Internal }
  >();
  const resolverChildren = new Map<
    string,
    { latency: Summary.Internal<'id' | 'resolver_type'>; ok: Counter.Internal; failed: Counter.Internal }
  >();

  const streamMessages = new Counter({
    name: 'stream_messages',
    help: 'Messages consumed by streaming resolvers, by resolver and outcome',
    labelNames: ['resolver', 'status'] as const,
    registers: [registry],
  });
  const streamLag = new Gauge({
    name: 'stream_consumer_lag_seconds',
    help: "Seconds between the newest consumed message's publication and its processing, by streaming resolver",
    labelNames: ['resolver'] as const,
    registers: [registry],
  });

  let publisherStats: (() => ResultPublisherStats) | undefined;
  const fromStats = (key: keyof ResultPublisherStats) =>
    function (this: Gauge | Counter) {
      const value = publisherStats?.()[key] ?? 0;
      if (this instanceof Gauge) this.set(value);
      else {
        this.reset();
        this.inc(value);
      }
    };
  new Gauge({
    name: 'result_publisher_queued_messages',
    help: 'Result messages accepted and not yet on the result bus (bounded by the publisher)',
    registers: [registry],
    collect: fromStats('queued'),
  });
  new Gauge({
    name: 'result_publisher_waiting_callers',
    help: 'Queries waiting for room in the result publisher queue',
    registers: [registry],
    collect: fromStats('waiting'),
  });
  for (const [key, help] of [
    ['published', 'Result messages put on the result bus'],
    ['shed', 'Queries refused with 503 RESULT_BUS_FULL: the result bus stayed behind past the deadline'],
    ['dropped', 'Accepted result messages the bus refused on every attempt, dropped'],
  ] as const)
    new Counter({ name: `result_publisher_${key}`, help, registers: [registry], collect: fromStats(key) });

  return {
    registry,
    watchResultPublisher(stats) {
      publisherStats = stats;
    },
    observeStream(resolver, counts, lagSeconds) {
      for (const [status, n] of Object.entries(counts)) if (n) streamMessages.inc({ resolver, status }, n);
      streamLag.set({ resolver }, lagSeconds);
    },
    observeQuery(queryName, seconds, result) {
      // `query_name` is a free label chosen by clients: past MAX_QUERY_LABELS distinct names, further new
      // names are counted under `Other` so a client cannot grow the registry without bound.
      const named = queryName || 'Unnamed';
      const id = queryChildren.has(named) || queryChildren.size < MAX_QUERY_LABELS ? named : 'Other';
      const query = cached(queryChildren, id, () => ({
        latency: queryLatency.labels({ id }),
        ok: queryRequest.labels({ id, status: 'success' }),
        failed: queryRequest.labels({ id, status: 'failure' }),
      }));
      query.latency.observe(seconds);
      (result.errors.length === 0 ? query.ok : query.failed).inc();
      for (const column of result.columns) {
        let failed = 0;
        for (const error of column.errors) if (error) failed++;
        const tally = cached(featureTallies, column.fqn, () => ({ ok: 0, failed: 0 }));
        tally.ok += column.errors.length - failed;
        tally.failed += failed;
      }
    },
    instrumentRuntime(runtime) {
      return {
        async call(request, signal) {
          const started = performance.now();
          const resolver = cached(resolverChildren, request.resolver, () => ({
            latency: resolverLatency.labels({ id: request.resolver, resolver_type: 'online' }),
            ok: resolverRequest.labels({ id: request.resolver, status: 'success' }),
            failed: resolverRequest.labels({ id: request.resolver, status: 'failure' }),
          }));
          try {
            const outcomes = await runtime.call(request, signal);
            (outcomes.every((outcome) => outcome.ok) ? resolver.ok : resolver.failed).inc();
            return outcomes;
          } catch (error) {
            resolver.failed.inc();
            throw error;
          } finally {
            resolver.latency.observe((performance.now() - started) / 1000);
          }
        },
        close: () => runtime.close(),
      };
    },
    async render() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
