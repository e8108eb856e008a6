import { cpus } from 'node:os';

/** One measured figure, next to the baseline it is judged against (measured in the same run). */
export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The same quantity for the baseline; `ratio` = value / baseline. */
  readonly baseline?: number;
  readonly note?: string;
}

/** What a benchmark returns: its figures and the Markdown section it owns in BENCHMARKS.md. */
export interface BenchReport {
  readonly name: string;
  readonly title: string;
  readonly figures: readonly BenchFigure[];
  /** Free Markdown placed under the table: setup, what bounds the figures, how to reproduce. */
  readonly notes: string;
}

/** A benchmark module: `bench/<name>.ts` exports `run`. */
export interface Bench {
  run(): Promise<BenchReport>;
}

export const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  node: process.version,
};

const format = (value: number) =>
  Math.abs(value) >= 100
    ? Math.round(value).toLocaleString('en-US')
    : Number(value.toPrecision(3)).toString();

/** The report as a Markdown section (table of figures with baseline ratios, then notes). */
export function toMarkdown(report: BenchReport, date = new Date()): string {
  const rows = report.figures.map((f) => {
    const ratio = f.baseline ? `${(f.value / f.baseline).toFixed(2)}×` : '';
    return `| ${f.name} | ${format(f.value)} ${f.unit} | ${f.baseline === undefined ? '' : `${format(f.baseline)} ${f.unit}`} | ${ratio} | ${f.note ?? ''} |`;
  });
  return [
    `## ${report.title}`,
    '',
    `Measured ${date.toISOString().slice(0, 10)} on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}. Reproduce: \`npm run bench -- ${report.name}\`.`,
    '',
    '| figure | Slate | baseline | Slate / baseline | note |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    report.notes.trim(),
    '',
  ].join('\n');
}
