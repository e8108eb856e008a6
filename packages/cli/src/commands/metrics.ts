import type { MetricSeries } from '@slate/client';
import { parseDuration, SlateError } from '@slate/graph';
import type { Command } from 'commander';
import { type CliContext, clientForCommand, printJson, printLine } from '../cli-context.ts';
import { sparkline } from '../sparkline.ts';

interface MetricsFlags {
  readonly window: string;
  readonly since: string;
  readonly aggregation?: string;
  readonly name?: string[];
  readonly groupBy?: boolean;
  readonly json?: boolean;
}

/**
 * `slate metrics <metric> [--since 1h] [--window 1m] [--aggregation p99] [--name checkout]… [--group-by]
 * [--json]`: a metric of the environment over time, from the per-minute rollups data planes report, printed
 * as one sparkline per series with its latest, lowest and highest value.
 */
export function registerMetrics(program: Command, context: CliContext): void {
  program
    .command('metrics')
    .description('a metric over time as a sparkline (query_count, query_latency, query_error_rate, ...)')
    .argument(
      '<metric>',
      'query_count, query_latency, query_errors, query_error_rate, query_cache_hit_rate, resolver_count, resolver_latency, resolver_error_rate, feature_request_count, feature_null_ratio, feature_value, online_store_hit_rate, stream_lag, run_count, run_error_rate, schedule_count, ...',
    )
    .option('--since <duration>', 'how far back', '1h')
    .option('--window <duration>', 'width of one point, whole minutes', '1m')
    .option('--aggregation <aggregation>', 'sum, rate, ratio, mean, min, max, p50, p75, p95 or p99')
    .option(
      '--name <name>',
      'only this query name, resolver or feature (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--group-by', 'one line per name rather than all names merged')
    .option('--json', 'print the series as JSON')
    .action(async (metric: string, flags: MetricsFlags, command: Command) => {
      const since = parseDuration(flags.since);
      if (since === null || since <= 0) {
        throw new SlateError('input', 'INVALID_DURATION', `--since must be a duration such as 1h or 30m`);
      }
      const client = await clientForCommand(command, context);
      const to = new Date();
      const series = await client.getMetricSeries({
        metric,
        from: new Date(to.getTime() - since * 1000),
        to,
        window: flags.window,
        aggregation: flags.aggregation,
        names: flags.name,
        groupBy: flags.groupBy ? 'name' : undefined,
      });
      if (flags.json) return printJson(context, series);
      printLine(context, formatMetricSeries(series));
    });
}

/** The series as text: a header, then per series its sparkline with latest, min and max. */
export function formatMetricSeries(series: MetricSeries): string {
  const header = `${series.metric} (${series.aggregation}, ${series.window_seconds / 60}m windows) ${series.from} → ${series.to}`;
  if (series.series.length === 0) return `${header}\n(no data)`;
  const width = Math.max(...series.series.map((s) => (s.name ?? 'all').length));
  const lines = series.series.map((s) => {
    const present = s.values.filter((v): v is number => v !== null);
    const stats =
      present.length === 0
        ? 'no data'
        : `last ${formatValue(lastPresent(s.values))}  min ${formatValue(Math.min(...present))}  max ${formatValue(Math.max(...present))}`;
    return `${(s.name ?? 'all').padEnd(width)}  ${sparkline(s.values)}  ${stats}`;
  });
  return [header, ...lines].join('\n');
}

function lastPresent(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]!;
  return null;
}

function formatValue(value: number | null): string {
  if (value === null) return '–';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  return abs >= 1000 || abs < 0.001 ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}
