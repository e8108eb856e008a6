import { SlateError } from './errors.ts';

/** A duration as users write it: `"1h 30m"`, `"10m"`, `"200ms"`, `"0s"`, `"1d"`, `"1w"` or `"infinity"`. */
export type Duration = string;

const unitSeconds: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3_600,
  d: 86_400,
  w: 604_800,
};

const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/y;

/**
 * Parses a duration into seconds; `"infinity"` (or `"all"`) is `null`, meaning forever.
 *
 * @throws SlateError `INVALID_DURATION` (kind `input`) for anything else.
 * @example
 * parseDuration('1h 30m'); // 5400
 * parseDuration('infinity'); // null
 */
export function parseDuration(text: Duration): number | null {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'infinity' || trimmed === 'all') return null;
  let seconds = 0;
  let matched = 0;
  let index = 0;
  while (index < trimmed.length) {
    if (trimmed[index] === ' ') {
      index++;
      continue;
    }
    part.lastIndex = index;
    const match = part.exec(trimmed);
    if (!match) break;
    seconds += Number(match[1]) * unitSeconds[match[2]!]!;
    matched++;
    index = part.lastIndex;
  }
  if (matched === 0 || index !== trimmed.length) {
    throw new SlateError(
      'input',
      'INVALID_DURATION',
      `'${text}' is not a duration (try "10m", "1h 30m", "infinity")`,
    );
  }
  return seconds;
}
