import { didYouMean } from './closest-name.ts';
import type { FeatureIndex } from './feature-index.ts';
import type { GraphArtifact, SourceLocation } from './graph-artifact.ts';
import { type FormulaKind, METRIC_KINDS, type MetricDimension } from './metric-checks.ts';

type Report = (severity: 'error' | 'warning', code: string, text: string, source?: SourceLocation) => void;

const FORMULA_ARITY: Record<FormulaKind, readonly [number, number]> = {
  abs: [1, 1],
  ratio: [2, 2],
  total_ratio: [2, 2],
  sum: [1, 16],
  product: [1, 16],
};
const MAX_WINDOW_S = 30 * 86_400;
const MAX_DRIFT_WINDOW_S = 90 * 86_400;

/**
 * Lints charts, triggers and drift checks against the graph they ship with: `UNKNOWN_RESOLVER`,
 * `UNKNOWN_FEATURE` and `UNKNOWN_QUERY` (filters and drift features naming nothing), `INVALID_FILTER`
 * (a dimension the metric kind does not carry), `INVALID_WINDOW` (not whole minutes, or too long),
 * `UNKNOWN_SERIES` (formula operands and triggers naming no earlier series or formula), `INVALID_FORMULA`,
 * `INVALID_DRIFT_CHECK` (a non-numeric feature) and `DUPLICATE_CHECK`.
 */
export function lintMetricChecks(artifact: GraphArtifact, index: FeatureIndex, report: Report): void {
  const resolvers = artifact.resolvers.map((r) => r.fqn);
  const queries = artifact.namedQueries.map((q) => q.name);
  const known: Record<MetricDimension, (value: string) => boolean> = {
    resolver: (value) => resolvers.includes(value),
    feature: (value) => index.resolve(value) !== undefined || index.windows(value) !== undefined,
    query_name: (value) => queries.includes(value) || value === 'Unnamed',
    schedule_kind: (value) => value === 'resolver' || value === 'query',
  };
  const candidates: Record<MetricDimension, () => readonly string[]> = {
    resolver: () => resolvers,
    feature: () => [...index.features.keys()],
    query_name: () => queries,
    schedule_kind: () => ['resolver', 'query'],
  };
  const unknownCode: Record<MetricDimension, string> = {
    resolver: 'UNKNOWN_RESOLVER',
    feature: 'UNKNOWN_FEATURE',
    query_name: 'UNKNOWN_QUERY',
    schedule_kind: 'INVALID_FILTER',
  };
  const names = new Set<string>();
  const checkWindow = (
    label: string,
    what: string,
    seconds: number,
    max: number,
    source?: SourceLocation,
  ) => {
    if (seconds % 60 !== 0 || seconds > max)
      report(
        'error',
        'INVALID_WINDOW',
        `${label}: ${what} is ${seconds}s; metrics are per minute, so use whole minutes up to ${max / 86_400} days`,
        source,
      );
  };

  for (const chart of artifact.charts ?? []) {
    const label = `chart '${chart.name}'`;
    if (names.has(chart.name))
      report('error', 'DUPLICATE_CHECK', `two checks are named '${chart.name}'`, chart.source);
    names.add(chart.name);
    checkWindow(label, 'the window', chart.windowS, MAX_WINDOW_S, chart.source);
    checkWindow(label, 'the evaluation period', chart.everyS, 86_400, chart.source);
    const defined = new Set<string>();
    for (const series of chart.series) {
      if (defined.has(series.name))
        report('error', 'UNKNOWN_SERIES', `${label}: two series are named '${series.name}'`, chart.source);
      defined.add(series.name);
      const { dimension, windowFunctions } = METRIC_KINDS[series.metric];
      if (!(windowFunctions as readonly string[]).includes(series.windowFunction))
        report(
          'error',
          'INVALID_WINDOW_FUNCTION',
          `${label}: series '${series.name}' (${series.metric}) takes ${windowFunctions.join(', ')}, not ${series.windowFunction}`,
          chart.source,
        );
      for (const [key, values] of Object.entries(series.filters) as [MetricDimension, string[]][]) {
        if (key !== dimension) {
          report(
            'error',
            'INVALID_FILTER',
            `${label}: series '${series.name}' (${series.metric}) can be filtered by ${dimension}, not ${key}`,
            chart.source,
          );
          continue;
        }
        for (const value of values)
          if (!known[key](value))
            report(
              'error',
              unknownCode[key],
              `${label}: series '${series.name}' filters on unknown ${key.replace('_', ' ')} '${value}'${didYouMean(value, candidates[key]())}`,
              chart.source,
            );
      }
      for (const key of series.groupBy)
        if (key !== dimension)
          report(
            'error',
            'INVALID_FILTER',
            `${label}: series '${series.name}' (${series.metric}) can be grouped by ${dimension}, not ${key}`,
            chart.source,
          );
    }
    for (const formula of chart.formulas) {
      for (const operand of formula.operands)
        if (!defined.has(operand))
          report(
            'error',
            'UNKNOWN_SERIES',
            `${label}: formula '${formula.name}' uses '${operand}', which no earlier series or formula defines`,
            chart.source,
          );
      const arity = FORMULA_ARITY[formula.kind];
      if (formula.operands.length < arity[0] || formula.operands.length > arity[1])
        report(
          'error',
          'INVALID_FORMULA',
          `${label}: formula '${formula.name}' (${formula.kind}) takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} or more`} operands, not ${formula.operands.length}`,
          chart.source,
        );
      if (defined.has(formula.name))
        report('error', 'UNKNOWN_SERIES', `${label}: two series are named '${formula.name}'`, chart.source);
      defined.add(formula.name);
    }
    if (chart.trigger && !defined.has(chart.trigger.series))
      report(
        'error',
        'UNKNOWN_SERIES',
        `${label}: trigger '${chart.trigger.name}' watches '${chart.trigger.series}', which is no series or formula of the chart`,
        chart.source,
      );
  }

  for (const check of artifact.driftChecks ?? []) {
    const label = `drift check '${check.name}'`;
    if (names.has(check.name))
      report('error', 'DUPLICATE_CHECK', `two checks are named '${check.name}'`, check.source);
    names.add(check.name);
    checkWindow(label, 'the window', check.windowS, MAX_DRIFT_WINDOW_S, check.source);
    checkWindow(label, 'the evaluation period', check.everyS, 86_400, check.source);
    const feature = index.resolve(check.feature);
    if (!feature) {
      report(
        'error',
        'UNKNOWN_FEATURE',
        `${label}: unknown feature '${check.feature}'${didYouMean(check.feature, [...index.features.keys()])}`,
        check.source,
      );
    } else if (feature.spec.kind !== 'scalar' || !['int', 'float'].includes(feature.spec.dtype.type)) {
      report(
        'error',
        'INVALID_DRIFT_CHECK',
        `${label}: ${check.feature} is not a numeric feature`,
        check.source,
      );
    }
  }
}
