import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { formatDateTime } from '../format.ts';
import { ChartHeader } from './chart-header.tsx';
import { AXIS_STYLE, type ChartOptions, TIME_X_AXIS, UplotChart } from './uplot-chart.tsx';

export interface MetricLine {
  readonly label: string;
  readonly color: string;
  /** One value per timestamp; `null` where nothing was measured (a gap in the line). */
  readonly values: readonly (number | null)[];
}

interface MetricLineChartProps {
  /** Bucket starts, epoch seconds, ascending. */
  readonly timestamps: readonly number[];
  readonly lines: readonly MetricLine[];
  /** Formats a value for the axis and the legend (`12 ms`, `3.5 %`). */
  readonly format: (value: number) => string;
  /** The y axis starts at 0 and reaches at least this (1 for ratios: 0–100 %). */
  readonly minTop?: number;
  readonly height?: number;
  readonly label: string;
}

/** A metric over time as lines (one per series), with gaps where a bucket measured nothing. */
export function MetricLineChart({
  timestamps,
  lines,
  format,
  minTop = 0,
  height = 150,
  label,
}: MetricLineChartProps) {
  const [hover, setHover] = useState<number | null>(null);
  const { options, data } = useMemo(() => {
    const top = Math.max(minTop, ...lines.flatMap((l) => l.values.map((v) => v ?? 0)));
    const options: ChartOptions = {
      legend: { show: false },
      padding: [8, 12, 0, 0],
      cursor: { y: false, drag: { x: false, y: false, setScale: false } },
      scales: { x: { time: true }, y: { range: () => [0, top > 0 ? top * 1.15 : 1] } },
      axes: [
        TIME_X_AXIS,
        { ...AXIS_STYLE, size: 56, values: (_u: uPlot, splits: number[]) => splits.map((v) => format(v)) },
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 2,
          spanGaps: false,
          points: { show: false },
        })),
      ],
      hooks: { setCursor: [(u: uPlot) => setHover(u.cursor.idx ?? null)] },
    };
    const data = [[...timestamps], ...lines.map((l) => [...l.values])] as uPlot.AlignedData;
    return { options, data };
  }, [timestamps, lines, format, minTop]);

  const legend = useMemo(
    () => lines.map((l) => ({ ...l, values: l.values.map((v) => (v === null ? null : format(v))) })),
    [lines, format],
  );
  const time = hover === null ? undefined : timestamps[hover];
  return (
    <div className="chart-block">
      <ChartHeader
        series={legend as never}
        hover={hover}
        swatch="line"
        readout={time === undefined ? '' : formatDateTime(new Date(time * 1000).toISOString())}
      />
      <UplotChart options={options} data={data} height={height} label={label} />
    </div>
  );
}
