import { useMemo } from 'react';
import type { Usage } from '../api/index.ts';
import { hourlyQueries } from '../charts/time-buckets.ts';
import { StackedBarChart } from './stacked-bar-chart.tsx';

const HOUR = 3_600_000;

/** Queries answered per hour over a window, with the window's totals: what the environment is used for. */
export function UsageChart({ usage, from, to }: { usage: Usage; from: number; to: number }) {
  const buckets = useMemo(() => hourlyQueries(usage, from, to), [usage, from, to]);
  const { totals } = usage;
  return (
    <div className="card card-pad">
      <h3 className="card-title">Queries per hour</h3>
      <p className="muted small">
        Last {Math.round((to - from) / HOUR)} hours: {totals.queries.toLocaleString()} queries,{' '}
        {totals.rows.toLocaleString()} rows, {totals.compute_seconds.toFixed(2)} s in resolvers
      </p>
      <StackedBarChart
        starts={buckets.starts}
        unit="hour"
        series={[{ label: 'Queries', color: '#3b6ea8', values: buckets.queries }]}
        label={`Queries per hour over the last ${Math.round((to - from) / HOUR)} hours: ${totals.queries} in total`}
      />
    </div>
  );
}
