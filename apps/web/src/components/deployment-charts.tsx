import { useMemo } from 'react';
import type { Deployment } from '../api/index.ts';
import { bucketCounts } from '../charts/time-buckets.ts';
import { shortSha } from '../format.ts';
import { STATUS_CATEGORIES, type StatusCategory, statusCategory } from '../status.ts';
import { StackedBarChart } from './stacked-bar-chart.tsx';
import { StepLineChart } from './step-line-chart.tsx';

/** Deployments per day (or hour, or week) stacked by outcome, and the feature graph's size over time. */
export function DeploymentCharts({
  deployments,
  now = Date.now(),
}: {
  deployments: readonly Deployment[];
  now?: number;
}) {
  const bars = useMemo(() => {
    const keys = STATUS_CATEGORIES.map((c) => c.key);
    const b = bucketCounts<Deployment, StatusCategory>(
      deployments,
      (d) => Date.parse(d.created_at),
      (d) => statusCategory(d.status),
      keys,
      { now },
    );
    return {
      unit: b.unit,
      starts: b.starts,
      series: STATUS_CATEGORIES.map((c) => ({ label: c.label, color: c.color, values: b.counts[c.key] })),
    };
  }, [deployments, now]);

  const size = useMemo(() => {
    const ok = deployments
      .filter((d) => d.status === 'SUCCESS' && d.graph_summary)
      .map((d) => ({ t: Date.parse(d.created_at), d }))
      .sort((a, b) => a.t - b.t);
    return {
      times: ok.map((x) => x.t),
      captions: ok.map((x) => (x.d.git?.commit ? shortSha(x.d.git.commit) : x.d.id)),
      series: [
        { label: 'Features', color: '#3b6ea8', values: ok.map((x) => x.d.graph_summary!.features) },
        { label: 'Resolvers', color: '#8a63b8', values: ok.map((x) => x.d.graph_summary!.resolvers) },
      ],
    };
  }, [deployments]);

  const failed = deployments.filter((d) => statusCategory(d.status) === 'failed').length;
  return (
    <div className="chart-grid">
      <div className="card card-pad">
        <h3 className="card-title">Deployments over time</h3>
        <p className="muted small">
          {deployments.length} loaded · {failed} failed
        </p>
        <StackedBarChart
          starts={bars.starts}
          unit={bars.unit}
          series={bars.series}
          label={`Deployments per ${bars.unit}, stacked by status: ${deployments.length} in total, ${failed} failed`}
        />
      </div>
      <div className="card card-pad">
        <h3 className="card-title">Feature graph size</h3>
        <p className="muted small">After each successful deployment</p>
        {size.times.length === 0 ? (
          <p className="muted chart-empty">No successful deployment with a graph yet.</p>
        ) : (
          <StepLineChart
            times={size.times}
            series={size.series}
            captions={size.captions}
            height={180}
            label={`Features and resolvers per successful deployment; latest ${size.series[0]!.values.at(-1)} features`}
          />
        )}
      </div>
    </div>
  );
}
