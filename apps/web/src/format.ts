import type { DType, ResolverInput, ResolverOutput } from './api/index.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "2 d ago", then a date. `null` becomes "—". */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const ago = now - t;
  if (ago < 0) return formatDateTime(iso);
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  if (ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
  if (ago < 14 * DAY) return `${Math.floor(ago / DAY)} d ago`;
  return formatDate(iso);
}

/** Local date and time, minutes precision: "12 Mar 2026, 14:05". */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

/**
 * A feature's max staleness: `0` means always computed fresh, `null` means cached forever.
 * @example formatStaleness(5400) // "1h 30m"
 */
export function formatStaleness(seconds: number | null | undefined): string {
  if (seconds === undefined) return '—';
  if (seconds === null) return 'forever';
  if (seconds === 0) return 'none';
  // The largest unit and, when not zero, the one just below it: "2d 3h", never "2d 7s".
  const units = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const;
  const total = Math.round(seconds);
  const i = units.findIndex(([, size]) => total >= size);
  if (i === -1) return `${total}s`;
  const [unit, size] = units[i]!;
  const parts = [`${Math.floor(total / size)}${unit}`];
  const next = units[i + 1];
  if (next && Math.floor((total % size) / next[1]) > 0)
    parts.push(`${Math.floor((total % size) / next[1])}${next[0]}`);
  return parts.join(' ');
}

/** `{type: 'list', of: {type: 'int'}}` → `list[int]`. */
export function formatDType(dtype: DType | undefined): string {
  if (dtype === undefined) return '';
  switch (dtype.type) {
    case 'list':
    case 'set':
      return `${dtype.type}[${formatDType(dtype.of)}]`;
    case 'vector':
      return `vector[${dtype.dimensions}]`;
    case 'enum':
      return `enum(${dtype.values.join(' | ')})`;
    case 'struct':
      return `struct{${Object.keys(dtype.fields).join(', ')}}`;
    default:
      return dtype.type;
  }
}

export function fqnOf(io: ResolverInput | ResolverOutput): string {
  return io.fqn;
}

/** First 7 characters of a commit, the way git prints it. */
export function shortSha(commit: string | undefined): string {
  return commit ? commit.slice(0, 7) : '';
}

/** The distinctive tail of an id like `dep_01HZX…`: prefix and last 6 characters. */
export function shortId(id: string): string {
  if (id.length <= 14) return id;
  const underscore = id.indexOf('_');
  const prefix = underscore > 0 && underscore < 8 ? id.slice(0, underscore + 1) : '';
  return `${prefix}…${id.slice(-6)}`;
}

/** "1 feature", "3 features". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? word : many}`;
}
