/** One legend entry: a series' colour, label and values (the hovered one is shown beside the label). */
export interface LegendSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

/**
 * The header every chart shares: its legend, with each series' value at the hovered point, and a readout
 * of where the cursor is (or the chart's unit when it is nowhere).
 */
export function ChartHeader({
  series,
  hover,
  readout,
  swatch = 'box',
  missing = '—',
}: {
  series: readonly LegendSeries[];
  hover: number | null;
  readout: string;
  swatch?: 'box' | 'line';
  /** What a series with no value at the hovered point shows. */
  missing?: string;
}) {
  return (
    <div className="chart-header">
      <ul className="legend">
        {series.map((s) => (
          <li key={s.label}>
            <span className={swatch === 'line' ? 'swatch line' : 'swatch'} style={{ background: s.color }} />
            {s.label}
            {hover !== null && <strong className="legend-value">{s.values[hover] ?? missing}</strong>}
          </li>
        ))}
      </ul>
      <span className="chart-readout">{readout}</span>
    </div>
  );
}
