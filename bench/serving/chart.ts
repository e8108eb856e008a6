/**
 * The latency-versus-concurrency chart of `npm run bench -- serving`, as a standalone SVG written in code
 * (no charting dependency): two panels over connections on a log axis — QPS, and p50/p99 latency — one
 * line per series (Slate shape A, the bare limit).
 */

/** One series: a value per connection count, in the order of the chart's `connections`. */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly qps: readonly number[];
  readonly p50: readonly number[];
  readonly p99: readonly number[];
}

const WIDTH = 920;
const HEIGHT = 400;
const PANEL = { width: 380, height: 260, top: 80 };

const xmlText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" upper bound for an axis: 1, 2 or 5 × a power of ten, at or above `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function panel(
  left: number,
  title: string,
  connections: readonly number[],
  lines: readonly { color: string; values: readonly number[]; dashed: boolean }[],
): string {
  const max = niceMax(Math.max(...lines.flatMap((l) => l.values)));
  const logs = connections.map((c) => Math.log2(c));
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  const x = (c: number) => left + ((Math.log2(c) - lo) / Math.max(1e-9, hi - lo)) * PANEL.width;
  const y = (v: number) => PANEL.top + PANEL.height - (v / max) * PANEL.height;
  const parts: string[] = [
    `<text x="${left}" y="${PANEL.top - 14}" font-size="14" font-weight="bold">${xmlText(title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (max * i) / 4;
    parts.push(
      `<line x1="${left}" x2="${left + PANEL.width}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(value) + 4}" font-size="11" text-anchor="end">${Number(value.toPrecision(3)).toLocaleString('en-US')}</text>`,
    );
  }
  for (const c of connections)
    parts.push(
      `<text x="${x(c)}" y="${PANEL.top + PANEL.height + 16}" font-size="11" text-anchor="middle">${c}</text>`,
    );
  parts.push(
    `<text x="${left + PANEL.width / 2}" y="${PANEL.top + PANEL.height + 34}" font-size="12" text-anchor="middle">connections (log scale)</text>`,
  );
  for (const line of lines) {
    const points = line.values.map((v, i) => `${x(connections[i]!).toFixed(1)},${y(v).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>`,
      ...line.values.map(
        (v, i) =>
          `<circle cx="${x(connections[i]!).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${line.color}"/>`,
      ),
    );
  }
  return parts.join('\n');
}

/** The chart as SVG text. `subtitle` says where and when it was measured. */
export function concurrencyChart(
  connections: readonly number[],
  series: readonly ChartSeries[],
  subtitle: string,
): string {
  const legend = series.map(
    (s, i) =>
      `<rect x="${520 + i * 200}" y="14" width="14" height="4" fill="${s.color}"/><text x="${540 + i * 200}" y="20" font-size="12">${xmlText(s.label)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" role="img">`,
    '<title>Online query: Slate vs the bare limit by concurrency (throughput and p99 latency)</title>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="20" y="20" font-size="15" font-weight="bold">Online query: Slate vs the bare limit by concurrency</text>`,
    `<text x="20" y="38" font-size="11" fill="#555">${xmlText(subtitle)}</text>`,
    ...legend,
    panel(
      70,
      'Throughput (QPS)',
      connections,
      series.map((s) => ({ color: s.color, values: s.qps, dashed: false })),
    ),
    panel(
      520,
      'Latency p50 (solid), p99 (dashed), ms',
      connections,
      series.flatMap((s) => [
        { color: s.color, values: s.p50, dashed: false },
        { color: s.color, values: s.p99, dashed: true },
      ]),
    ),
    '</svg>',
    '',
  ].join('\n');
}
