import { useMemo, useState } from 'react';
import uPlot from 'uplot';
import { formatDateTime } from '../format.ts';
import { ChartHeader } from './chart-header.tsx';
import { type ChartOptions, INTEGER_Y_AXIS, TIME_X_AXIS, UplotChart } from './uplot-chart.tsx';

export interface LineSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

interface StepLineChartProps {
  /** Event times, ms since the epoch, ascending. */
  readonly times: readonly number[];
  readonly series: readonly LineSeries[];
  /** One caption per point for the hover readout (a commit, a deployment id). */
  readonly captions?: readonly string[];
  readonly height?: number;
  readonly label: string;
}

/** Values that hold until the next event (graph size per deployment), as stepped lines with points. */
export function StepLineChart({ times, series, captions, height = 160, label }: StepLineChartProps) {
  const [hover, setHover] = useState<number | null>(null);

  const { options, data } = useMemo(() => {
    const stepped = uPlot.paths.stepped!({ align: 1 });
    const top = Math.max(3, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
    const options: ChartOptions = {
      legend: { show: false },
      padding: [8, 12, 0, 0],
      cursor: { y: false, drag: { x: false, y: false, setScale: false } },
      scales: {
        // One point has no span: give the time axis an hour either side instead of uPlot's degenerate range.
        x:
          times.length === 1
            ? { time: true, range: () => [times[0]! / 1000 - 3600, times[0]! / 1000 + 3600] }
            : { time: true },
        y: { range: () => [0, Math.ceil(top * 1.15)] },
      },
      axes: [TIME_X_AXIS, INTEGER_Y_AXIS],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          paths: stepped,
          points: { show: true, size: 6, fill: '#fff', stroke: s.color },
        })),
      ],
      hooks: { setCursor: [(u: uPlot) => setHover(u.cursor.idx ?? null)] },
    };
    const data = [times.map((t) => t / 1000), ...series.map((s) => [...s.values])] as uPlot.AlignedData;
    return { options, data };
  }, [times, series]);

  const time = hover === null ? undefined : times[hover];
  return (
    <div className="chart-block">
      <ChartHeader
        series={series}
        hover={hover}
        swatch="line"
        readout={
          time === undefined
            ? 'per deployment'
            : `${formatDateTime(new Date(time).toISOString())}${captions?.[hover!] ? ` · ${captions[hover!]}` : ''}`
        }
      />
      <UplotChart options={options} data={data} height={height} label={label} />
    </div>
  );
}
