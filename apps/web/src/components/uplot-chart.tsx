import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

interface UplotChartProps {
  /** Memoize: a new object rebuilds the chart. */
  readonly options: ChartOptions;
  /** Memoize: a new array rebuilds the chart. */
  readonly data: uPlot.AlignedData;
  readonly height: number;
  /** What a screen reader hears instead of the canvas; pair the chart with a text summary. */
  readonly label: string;
}

/** A uPlot canvas that fills its container's width and follows its resizes. */
export function UplotChart({ options, data, height, label }: UplotChartProps) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = container.current;
    // Without ResizeObserver (very old browsers, jsdom) the canvas could not follow its card: keep the
    // labelled placeholder, whose `aria-label` carries the chart's summary.
    if (!el || typeof ResizeObserver === 'undefined') return;
    const width = Math.max(200, el.clientWidth);
    const plot = new uPlot({ ...options, width, height }, data, el);
    const observer = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [options, data, height]);

  return (
    <div ref={container} className="chart" role="img" aria-label={label} style={{ minHeight: height }} />
  );
}

/** Shared look: quiet axes and grid in the app's palette. */
export const AXIS_STYLE = {
  stroke: '#6b7684',
  font: '12px system-ui, -apple-system, "Segoe UI", sans-serif',
  grid: { stroke: '#edf0f3', width: 1 },
  ticks: { show: false },
} satisfies uPlot.Axis;

const DAY_S = 86_400;

/**
 * Time axis with short local labels ("3 Nov", "14:00") instead of uPlot's two-line defaults, spaced so
 * they never collide on a narrow card.
 */
export const TIME_X_AXIS = {
  ...AXIS_STYLE,
  space: 64,
  size: 30,
  values: (_u: uPlot, splits: number[], _axis: number, _space: number, incr: number) =>
    splits.map((s) => {
      const d = new Date(s * 1000);
      if (incr < DAY_S && (d.getHours() !== 0 || d.getMinutes() !== 0)) {
        return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      }
      return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
    }),
} satisfies uPlot.Axis;

/** Ticks at whole numbers only: counts of things are never 2.5. */
export const INTEGER_Y_AXIS = {
  ...AXIS_STYLE,
  incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000],
  values: (_u: uPlot, splits: number[]) => splits.map((v) => v.toLocaleString()),
  size: 44,
} satisfies uPlot.Axis;
