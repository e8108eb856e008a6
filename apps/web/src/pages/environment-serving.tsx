import { useEffect, useMemo, useState } from 'react';
import { type Environment, listAll, type MetricSeries } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { MetricLineChart } from '../components/metric-line-chart.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { DataPlanesCard } from './environments-page.tsx';

/** Ranges offered, each with a window that keeps a chart under ~100 points. */
const RANGES = [
  { label: 'Last hour', ms: 3_600_000, window: '1m' },
  { label: 'Last 6 hours', ms: 6 * 3_600_000, window: '5m' },
  { label: 'Last 24 hours', ms: 24 * 3_600_000, window: '15m' },
  { label: 'Last 7 days', ms: 7 * 24 * 3_600_000, window: '1h' },
] as const;
/** The charts re-read the series this often (a data plane reports finished minutes every 30 s). */
const REFRESH_MS = 30_000;

const COLORS = { blue: '#3b6ea8', orange: '#c8772a', red: '#c0392b', green: '#2e8b57' };

/** Up to 3 significant digits, without trailing zeros after the point (`0.12`, `750`, `2.5`). */
const short = (v: number) => String(Number(v.toPrecision(3)));
const perSecond = (v: number) => `${v === 0 ? '0' : v >= 100 ? v.toFixed(0) : short(v)}/s`;
const duration = (seconds: number) =>
  seconds >= 1 ? `${short(seconds)} s` : `${seconds === 0 ? '0' : short(seconds * 1000)} ms`;
const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio >= 0.1 || ratio === 0 ? 0 : 1)} %`;

/**
 * The environment's serving charts (issue 15 item 4, from the rollups of issue 17): queries per second,
 * p50/p99 latency, error rate and cache hit rate over time, filterable by query name, and the health of
 * the data plane serving it.
 */
export function ServingSection({ env }: { env: Environment }) {
  const api = useApi();
  const [rangeIndex, setRangeIndex] = useState(0);
  const [queryName, setQueryName] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const range = RANGES[rangeIndex]!;

  const [charts, reload] = useResource(
    async (signal) => {
      const to = new Date();
      const base = {
        from: new Date(to.getTime() - range.ms).toISOString(),
        to: to.toISOString(),
        window: range.window,
      };
      const name = queryName || undefined;
      const [names, qps, p50, p99, errors, hits] = await Promise.all([
        api.metricSeries(env.id, { ...base, metric: 'query_count', group_by: 'name' }, signal),
        api.metricSeries(env.id, { ...base, metric: 'query_count', aggregation: 'rate', name }, signal),
        api.metricSeries(env.id, { ...base, metric: 'query_latency', aggregation: 'p50', name }, signal),
        api.metricSeries(env.id, { ...base, metric: 'query_latency', aggregation: 'p99', name }, signal),
        api.metricSeries(env.id, { ...base, metric: 'query_error_rate', name }, signal),
        api.metricSeries(env.id, { ...base, metric: 'query_cache_hit_rate', name }, signal),
      ]);
      return { names, qps, p50, p99, errors, hits };
    },
    [api, env.id, range, queryName, tick],
  );
  const [planes] = useResource((signal) => listAll((p) => api.dataPlanes(p, signal)), [api]);

  return (
    <div className="stack-lg">
      <section className="card card-pad" aria-label="Serving">
        <div className="serving-header">
          <h3 className="card-title">Serving</h3>
          <div className="inline-gap">
            <label className="inline-gap small">
              <span className="muted">Query</span>
              <select
                value={queryName}
                onChange={(e) => setQueryName(e.target.value)}
                aria-label="Query name"
              >
                <option value="">All queries</option>
                {(charts.data?.names.series ?? []).map((s) => (
                  <option key={s.name} value={s.name ?? ''}>
                    {s.name}
                  </option>
                ))}
                {queryName && !charts.data?.names.series.some((s) => s.name === queryName) && (
                  <option value={queryName}>{queryName}</option>
                )}
              </select>
            </label>
            <select
              value={rangeIndex}
              onChange={(e) => setRangeIndex(Number(e.target.value))}
              aria-label="Time range"
            >
              {RANGES.map((r, i) => (
                <option key={r.label} value={i}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        {charts.status === 'loading' ? (
          <Loading rows={4} />
        ) : charts.status === 'error' ? (
          <ErrorState error={charts.error} onRetry={reload} />
        ) : (
          <ServingCharts {...charts.data} queryName={queryName} />
        )}
      </section>
      {planes.status === 'ready' && (
        <DataPlanesCard dataPlanes={planes.data.filter((p) => p.id === env.data_plane_id)} />
      )}
    </div>
  );
}

function ServingCharts({
  names,
  qps,
  p50,
  p99,
  errors,
  hits,
  queryName,
}: Record<'names' | 'qps' | 'p50' | 'p99' | 'errors' | 'hits', MetricSeries> & { queryName: string }) {
  const values = (s: MetricSeries) => s.series[0]?.values ?? s.timestamps.map(() => null);
  const total = names.series
    .filter((s) => !queryName || s.name === queryName)
    .reduce((n, s) => n + s.values.reduce<number>((a, v) => a + (v ?? 0), 0), 0);
  const lines = useMemo(
    () => ({
      qps: [{ label: 'Queries per second', color: COLORS.blue, values: values(qps) }],
      latency: [
        { label: 'p50', color: COLORS.blue, values: values(p50) },
        { label: 'p99', color: COLORS.orange, values: values(p99) },
      ],
      errors: [{ label: 'Error rate', color: COLORS.red, values: values(errors) }],
      hits: [{ label: 'Cache hit rate', color: COLORS.green, values: values(hits) }],
    }),
    [qps, p50, p99, errors, hits],
  );
  const peak = (s: MetricSeries) => Math.max(0, ...values(s).map((v) => v ?? 0));
  const scope = queryName ? `query ${queryName}` : 'all queries';
  if (total === 0) {
    return (
      <p className="card-empty muted" data-testid="serving-summary">
        No queries answered in this range ({scope}). Charts fill in a minute after queries are served.
      </p>
    );
  }
  return (
    <>
      <p className="muted small" data-testid="serving-summary">
        {total.toLocaleString()} queries ({scope}) · peak {perSecond(peak(qps))} · p99 up to{' '}
        {duration(peak(p99))} · errors up to {percent(peak(errors))}
      </p>
      <div className="serving-grid">
        <ChartCard title="Queries per second">
          <MetricLineChart
            timestamps={qps.timestamps}
            lines={lines.qps}
            format={perSecond}
            label={`Queries per second, ${scope}: ${total} queries, peak ${perSecond(peak(qps))}`}
          />
        </ChartCard>
        <ChartCard title="Latency">
          <MetricLineChart
            timestamps={p50.timestamps}
            lines={lines.latency}
            format={duration}
            label={`Query latency p50 and p99, ${scope}: p99 up to ${duration(peak(p99))}`}
          />
        </ChartCard>
        <ChartCard title="Error rate">
          <MetricLineChart
            timestamps={errors.timestamps}
            lines={lines.errors}
            format={percent}
            minTop={0.05}
            label={`Share of queries with an error, ${scope}: up to ${percent(peak(errors))}`}
          />
        </ChartCard>
        <ChartCard title="Cache hit rate">
          <MetricLineChart
            timestamps={hits.timestamps}
            lines={lines.hits}
            format={percent}
            minTop={1}
            label={`Share of values served from the online store, ${scope}: up to ${percent(peak(hits))}`}
          />
        </ChartCard>
      </div>
    </>
  );
}

function ChartCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="serving-chart">
      <h4 className="small">{title}</h4>
      {children}
    </div>
  );
}
