/**
 * Incremental high-water marks as runs handle them: stored as text (ISO timestamps for dates, else JSON),
 * compared as times, numbers or text.
 */

/** A mark as stored: ISO text for a date, else the value as JSON. */
export function serializeWater(value: unknown): string {
  return value instanceof Date ? value.toISOString() : JSON.stringify(value);
}

/** A stored mark as a value: a Date for ISO text, else the JSON value (the text itself when not JSON). */
export function parseWater(stored: string): unknown {
  if (/^\d{4}-\d\d-\d\dT/.test(stored)) return new Date(Date.parse(stored));
  try {
    return JSON.parse(stored) as unknown;
  } catch {
    return stored;
  }
}

/** A stored mark less the resolver's lookback (seconds for times and numbers; text marks stay). */
export function lookBack(stored: string, lookbackS: number): unknown {
  const value = parseWater(stored);
  if (value instanceof Date) return new Date(value.getTime() - lookbackS * 1000);
  return typeof value === 'number' ? value - lookbackS : value;
}

export function asDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  return value instanceof Date ? value : new Date(value as string | number);
}

/** Orders marks: times by instant, numbers numerically, anything else as text. */
export function compareWater(a: unknown, b: unknown): number {
  const key = (v: unknown) =>
    v instanceof Date
      ? v.getTime()
      : typeof v === 'number' || typeof v === 'bigint'
        ? Number(v)
        : typeof v === 'string' && /^\d{4}-\d\d-\d\d/.test(v)
          ? Date.parse(v)
          : String(v);
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
