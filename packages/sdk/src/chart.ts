import {
  type AlertSeverity,
  type ChartSpec,
  type DriftCheckSpec,
  type Duration,
  type FormulaKind,
  METRIC_KINDS,
  type MetricDimension,
  type MetricKind,
  parseDuration,
  SlateError,
  type SourceLocation,
  type WindowFunction,
} from '@slate/graph';
import type { FeatureRef } from './feature-class.ts';
import { callerLocation } from './source-location.ts';

const chartBrand = Symbol.for('slate.chart');
const driftBrand = Symbol.for('slate.driftCheck');

/**
 * What a series filter names: a resolver (the exported object, or its FQN), a feature (a reference or its
 * FQN) or a query name.
 */
export type MetricSubject = string | FeatureRef | object;

/** A series before `collectGraph` turns resolver objects into FQNs. */
export interface SeriesDefinition {
  readonly name: string;
  readonly metric: MetricKind;
  readonly windowFunction: WindowFunction;
  readonly filters: Partial<Record<MetricDimension, readonly MetricSubject[]>>;
  readonly groupBy: readonly MetricDimension[];
}

export interface SeriesOptions {
  /** How formulas and the trigger refer to it. */
  readonly name: string;
  /** Default: the metric kind's first (`sum` for counts, `ratio` for rates, `p50` for latency). */
  readonly windowFunction?: WindowFunction;
  /** Keep only the points of these resolvers / features / query names (by the metric kind's dimension). */
  readonly where?: MetricSubject | readonly MetricSubject[];
  /** One value per resolver / feature / query name instead of one over all of them. */
  readonly groupBy?: boolean;
}

/**
 * A series over a metric kind (Chalk's `Series.*_metric(...).where(...)`): filtered to some resolvers,
 * features or query names, reduced over the chart's window by `windowFunction`.
 *
 * @example
 * const errors = series('resolver_error_rate', { name: 'errors', where: getRiskScore });
 */
export function series(metric: MetricKind, options: SeriesOptions): SeriesDefinition {
  if (!(metric in METRIC_KINDS))
    throw new SlateError('input', 'INVALID_CHART', `unknown metric kind '${metric}'`, {
      kinds: Object.keys(METRIC_KINDS),
    });
  const { dimension, windowFunctions } = METRIC_KINDS[metric];
  const where =
    options.where === undefined ? [] : Array.isArray(options.where) ? options.where : [options.where];
  return Object.freeze({
    name: options.name,
    metric,
    windowFunction: options.windowFunction ?? windowFunctions[0],
    filters: where.length > 0 ? { [dimension]: [...where] } : {},
    groupBy: options.groupBy ? [dimension] : [],
  });
}

export interface ChartOptions {
  /** Unique among the deployment's charts and drift checks. */
  readonly name: string;
  /** The window each evaluation reads (Chalk's `window_period`): whole minutes, e.g. `"5m"`. */
  readonly window: Duration;
  /** How often its trigger is evaluated: whole minutes. Default `"1m"`. */
  readonly every?: Duration;
  readonly description?: string;
}

export interface TriggerOptions {
  readonly name: string;
  /** The series or formula it watches (by name). */
  readonly series: string;
  readonly threshold: number;
  /** Fires while the value is above (the default) or below the threshold. */
  readonly direction?: 'above' | 'below';
  readonly severity: AlertSeverity;
  /** Routes configured for this owner receive the alert. */
  readonly owner: string;
  readonly description?: string;
}

/** A chart with its series, formulas and trigger; immutable (each `with*` returns a new chart). */
export interface Chart {
  readonly [chartBrand]: ChartDraft;
  /** Adds a series. */
  withSeries(series: SeriesDefinition): Chart;
  /** Adds a formula over earlier series or formulas (`ratio`: numerator then denominator). */
  withFormula(name: string, kind: FormulaKind, operands: readonly string[]): Chart;
  /** Sets the alert trigger (one per chart). */
  withTrigger(trigger: TriggerOptions): Chart;
  /** Shows the chart on these resolvers', features' or named queries' pages. */
  withLink(...subjects: MetricSubject[]): Chart;
}

/** A chart before `collectGraph` turns resolver objects into FQNs. */
export interface ChartDraft {
  readonly name: string;
  readonly windowS: number;
  readonly everyS: number;
  readonly series: readonly SeriesDefinition[];
  readonly formulas: ChartSpec['formulas'];
  readonly trigger?: NonNullable<ChartSpec['trigger']>;
  readonly links: readonly MetricSubject[];
  readonly description?: string;
  readonly source?: SourceLocation;
}

const seconds = (what: string, text: Duration, name: string): number => {
  let value: number | null;
  try {
    value = parseDuration(text);
  } catch (error) {
    throw new SlateError('input', 'INVALID_CHART', `'${name}': ${what}: ${(error as Error).message}`);
  }
  if (value === null) throw new SlateError('input', 'INVALID_CHART', `'${name}': ${what} cannot be infinite`);
  return value;
};

function makeChart(draft: ChartDraft): Chart {
  return Object.freeze({
    [chartBrand]: Object.freeze(draft),
    withSeries: (s: SeriesDefinition) => makeChart({ ...draft, series: [...draft.series, s] }),
    withFormula: (name: string, kind: FormulaKind, operands: readonly string[]) =>
      makeChart({ ...draft, formulas: [...draft.formulas, { name, kind, operands: [...operands] }] }),
    withTrigger: (t: TriggerOptions) =>
      makeChart({
        ...draft,
        trigger: {
          name: t.name,
          series: t.series,
          threshold: t.threshold,
          direction: t.direction ?? 'above',
          severity: t.severity,
          owner: t.owner,
          description: t.description,
        },
      }),
    withLink: (...subjects: MetricSubject[]) => makeChart({ ...draft, links: [...draft.links, ...subjects] }),
  });
}

/**
 * Declares a chart (Chalk's `Chart`): series over metric kinds, formulas over them and an alert trigger.
 * Export it from the feature repository; `slate apply` ships it with the deployment, lint checks its
 * filters and window, and the metadata plane evaluates its trigger every `every` on the
 * `metric-check-trigger` queue, opening an incident and routing it to the trigger's owner.
 *
 * @throws SlateError `INVALID_CHART` (input) for a window that is not a duration.
 * @example
 * export const riskErrors = chart({ name: 'risk-errors', window: '5m' })
 *   .withSeries(series('resolver_error_rate', { name: 'errors', where: getRiskScore }))
 *   .withTrigger({ name: 'risk-failing', series: 'errors', threshold: 0.1, severity: 'critical', owner: 'risk' });
 */
export function chart(options: ChartOptions): Chart {
  return makeChart({
    name: options.name,
    windowS: seconds('window', options.window, options.name),
    everyS: seconds('every', options.every ?? '1m', options.name),
    series: [],
    formulas: [],
    links: [],
    description: options.description,
    source: callerLocation(),
  });
}

export function isChart(value: unknown): value is Chart {
  return typeof value === 'object' && value !== null && chartBrand in value;
}

/** The chart as declared (resolver objects not yet named). */
export function chartDraft(value: Chart): ChartDraft {
  return value[chartBrand];
}

export interface DriftCheckOptions {
  readonly name: string;
  /** A numeric scalar feature. */
  readonly feature: FeatureRef;
  /** The reference: a dataset named by `dataset_name` in an offline query, holding the feature's column. */
  readonly dataset: string;
  /** Recent values are those observed within this window. Default `"1d"`. */
  readonly window?: Duration;
  /** Default `"1h"`. */
  readonly every?: Duration;
  /** KS statistic at or above which the check fires (0..1). */
  readonly threshold: number;
  /** Fewer recent values than this: no verdict. Default 30. */
  readonly minSamples?: number;
  readonly severity?: AlertSeverity;
  readonly owner: string;
  readonly description?: string;
}

/** A feature drift check (see `driftCheck`). */
export interface DriftCheck {
  readonly [driftBrand]: DriftCheckSpec;
}

/**
 * Declares a feature drift check: every `every`, the two-sample Kolmogorov–Smirnov statistic between the
 * feature's values observed in the last `window` and its column in the named dataset; at `threshold` or
 * more an incident opens for `owner`, and it resolves when the statistic falls below.
 *
 * @throws SlateError `INVALID_CHART` (input) for a bad window or threshold outside (0, 1].
 * @example
 * export const scoreDrift = driftCheck({ name: 'score-drift', feature: User.score, dataset: 'training', threshold: 0.2, owner: 'risk' });
 */
export function driftCheck(options: DriftCheckOptions): DriftCheck {
  if (!(options.threshold > 0 && options.threshold <= 1))
    throw new SlateError(
      'input',
      'INVALID_CHART',
      `'${options.name}': the threshold is a KS statistic in (0, 1]`,
    );
  const spec: DriftCheckSpec = {
    name: options.name,
    feature: options.feature.fqn,
    dataset: options.dataset,
    windowS: seconds('window', options.window ?? '1d', options.name),
    everyS: seconds('every', options.every ?? '1h', options.name),
    threshold: options.threshold,
    minSamples: options.minSamples ?? 30,
    severity: options.severity ?? 'warning',
    owner: options.owner,
    description: options.description,
    source: callerLocation(),
  };
  return Object.freeze({ [driftBrand]: Object.freeze(spec) });
}

export function isDriftCheck(value: unknown): value is DriftCheck {
  return typeof value === 'object' && value !== null && driftBrand in value;
}

export function driftCheckSpec(value: DriftCheck): DriftCheckSpec {
  return value[driftBrand];
}
