import { useMemo, useState } from 'react';
import uPlot from 'uplot';
import { type BucketUnit, formatBucket } from '../charts/time-buckets.ts';
import { ChartHeader } from './chart-header.tsx';
import { type ChartOptions, INTEGER_Y_AXIS, TIME_X_AXIS, UplotChart } from './uplot-chart.tsx';

export interface BarSeries {
  readonly label: string;
  readonly color: string;
  /** One count per bucket. */
  readonly values: readonly number[];
}

interface StackedBarChartProps {
  /** Bucket start times, ms since the epoch, ascending. */
  readonly starts: readonly number[];
  readonly unit: BucketUnit;
  /** Bottom to top. */
  readonly series: readonly BarSeries[];
  readonly height?: number;
  readonly label: string;
}

/**
 * Counts over time as stacked bars, with a legend and a hover readout of the bucket under the cursor.
 * Stacking is drawn rather than computed by uPlot: each series is plotted at its cumulative height, the
 * tallest first, so the shorter ones paint over it.
 */
export function StackedBarChart({ starts, unit, series, height = 180, label }: StackedBarChartProps) {
  const [hover, setHover] = useState<number | null>(null);

  const { options, data } = useMemo(() => {
    const cumulative: number[][] = [];
    series.forEach((s, i) => {
      cumulative.push(s.values.map((v, j) => v + (i > 0 ? cumulative[i - 1]![j]! : 0)));
    });
    const drawOrder = series.map((_, i) => i).reverse();
    const halfBucket = starts.length > 1 ? (starts[1]! - starts[0]!) / 2000 : 1800;
    const top = Math.max(3, ...(cumulative.at(-1) ?? [0]));
    const bars = uPlot.paths.bars!({ size: [0.72, 28, 2], align: 0, radius: [0.15, 0] });
    const options: ChartOptions = {
      legend: { show: false },
      padding: [8, 8, 0, 0],
      cursor: {
        y: false,
        points: { show: false },
        drag: { x: false, y: false, setScale: false },
      },
      scales: {
        x: { time: true, range: (_u, min, max) => [min - halfBucket, max + halfBucket] },
        y: { range: () => [0, Math.ceil(top * 1.1)] },
      },
      axes: [TIME_X_AXIS, INTEGER_Y_AXIS],
      series: [
        {},
        ...drawOrder.map((i) => ({
          label: series[i]!.label,
          fill: series[i]!.color,
          stroke: series[i]!.color,
          width: 0,
          paths: bars,
          points: { show: false },
        })),
      ],
      hooks: {
        setCursor: [(u: uPlot) => setHover(u.cursor.idx ?? null)],
      },
    };
    const data: uPlot.AlignedData = [starts.map((s) => s / 1000), ...drawOrder.map((i) => cumulative[i]!)];
    return { options, data };
  }, [starts, series]);

  const start = hover === null ? undefined : starts[hover];
  return (
    <div className="chart-block">
      <ChartHeader
        series={series}
        hover={hover}
        readout={start === undefined ? `per ${unit}` : formatBucket(start, unit)}
        missing="0"
      />
      <UplotChart options={options} data={data} height={height} label={label} />
    </div>
  );
}
