import { useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { type FireLane, fireTimeline } from '../charts/schedule-fires.ts';
import { formatDateTime, plural } from '../format.ts';
import { categoryColor, STATUS_CATEGORIES } from '../status.ts';
import { ChartHeader } from './chart-header.tsx';
import { AXIS_STYLE, type ChartOptions, TIME_X_AXIS, UplotChart } from './uplot-chart.tsx';

const LANE_HEIGHT = 34;

/** The shared time axis, with seconds when ticks are less than a minute apart (schedules every few seconds). */
const FIRE_TIME_AXIS = {
  ...TIME_X_AXIS,
  space: 96,
  values: (u: uPlot, splits: number[], axis: number, space: number, incr: number) =>
    incr < 60
      ? splits.map((s) =>
          new Date(s * 1000).toLocaleTimeString(undefined, {
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
          }),
        )
      : TIME_X_AXIS.values(u, splits, axis, space, incr),
} satisfies uPlot.Axis;
const LABEL_CHARS = 22;

/**
 * Recent fires of every schedule on one time axis: a lane per schedule, a dot per fire coloured by how it
 * turned out (succeeded, failed, still under way, canceled). Gaps show paused periods and missed fires at a
 * glance; the legend counts the fires under the cursor.
 */
export function ScheduleFiresChart({ lanes }: { lanes: readonly FireLane[] }) {
  const [hover, setHover] = useState<number | null>(null);
  const timeline = useMemo(() => fireTimeline(lanes), [lanes]);
  const height = Math.max(120, lanes.length * LANE_HEIGHT + 48);

  const { options, data } = useMemo(() => {
    const { times, series } = timeline;
    const labels = lanes.map((l) =>
      l.label.length > LABEL_CHARS ? `${l.label.slice(0, LABEL_CHARS - 1)}…` : l.label,
    );
    const noPath = () => null;
    const options: ChartOptions = {
      legend: { show: false },
      padding: [10, 16, 0, 0],
      cursor: { y: false, drag: { x: false, y: false, setScale: false }, points: { show: false } },
      scales: {
        x:
          times.length === 1
            ? { time: true, range: () => [times[0]! / 1000 - 3600, times[0]! / 1000 + 3600] }
            : { time: true },
        // Lane 0 at the top, in the table's order.
        y: { dir: -1, range: () => [-0.5, lanes.length - 0.5] },
      },
      axes: [
        FIRE_TIME_AXIS,
        {
          ...AXIS_STYLE,
          // Room for the longest (shortened) name at the axis font's ~7 px per character.
          size: 16 + 7 * Math.max(4, ...labels.map((l) => l.length)),
          splits: () => lanes.map((_, i) => i),
          values: (_u: uPlot, splits: number[]) => splits.map((i) => labels[i] ?? ''),
          grid: { stroke: '#edf0f3', width: 1 },
        },
      ],
      series: [
        {},
        ...series.map((s) => {
          const color = categoryColor(s.category);
          return {
            label: `${lanes[s.lane]?.label} ${s.category}`,
            stroke: color,
            paths: noPath,
            points: { show: true, size: 9, width: 1, fill: color, stroke: color },
          };
        }),
      ],
      hooks: { setCursor: [(u: uPlot) => setHover(u.cursor.idx ?? null)] },
    };
    const data = [times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;
    return { options, data };
  }, [timeline, lanes]);

  const legend = STATUS_CATEGORIES.map((c) => ({
    label: c.key === 'progress' ? 'Pending / running' : c.key === 'inactive' ? 'Canceled' : c.label,
    color: c.color,
    values: timeline.countsAt[c.key],
  }));
  const total = timeline.times.length === 0 ? 0 : Object.values(timeline.totals).reduce((a, b) => a + b, 0);
  const time = hover === null ? undefined : timeline.times[hover];
  const summary = `${plural(total, 'fire')} of ${plural(lanes.length, 'schedule')}: ${STATUS_CATEGORIES.map(
    (c) => `${timeline.totals[c.key]} ${c.label.toLowerCase()}`,
  ).join(', ')}`;
  if (total === 0)
    return <p className="muted chart-empty">No fires yet: each fire shows here once it is due.</p>;
  return (
    <div className="chart-block">
      <ChartHeader
        series={legend}
        hover={hover}
        missing="0"
        readout={time === undefined ? 'due time' : formatDateTime(new Date(time).toISOString())}
      />
      <UplotChart options={options} data={data} height={height} label={summary} />
    </div>
  );
}
