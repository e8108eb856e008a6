const BARS = '▁▂▃▄▅▆▇█';

/**
 * One character per value, from `▁` (the lowest) to `█` (the highest); a missing value (`null`) is a space.
 * All-equal values print as `▁`.
 * @example
 * sparkline([0, 1, 2, null, 7]); // '▁▂▃ █'
 */
export function sparkline(values: readonly (number | null)[]): string {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (present.length === 0) return ' '.repeat(values.length);
  const min = Math.min(...present);
  const max = Math.max(...present);
  const span = max - min;
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const level = span === 0 ? 0 : Math.round(((v - min) / span) * (BARS.length - 1));
      return BARS[level];
    })
    .join('');
}
