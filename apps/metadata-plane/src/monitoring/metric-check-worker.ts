import { type ChartSpec, type DriftCheckSpec, GraphArtifactSchema, ksStatistic } from '@slate/graph';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { evaluateChart, type MetricReader } from './evaluate-chart.ts';
import {
  type CheckIdentity,
  type GroupVerdict,
  type IncidentChanges,
  recordEvaluation,
} from './incidents.ts';
import type { MetricCheckMessage } from './metric-check-scheduler.ts';

/** Samples the values a drift check compares (recent observations, and the reference dataset's column). */
export interface DriftSampler {
  /** Values of `feature` observed in [from, to), at most `max` (a uniform sample when there are more). */
  recentValues(environmentId: string, feature: string, from: Date, to: Date, max: number): Promise<number[]>;
  /** The feature's column in the newest revision of the named dataset, at most `max` values. */
  datasetValues(environmentId: string, dataset: string, feature: string, max: number): Promise<number[]>;
}

export interface MetricCheckWorkerOptions {
  readonly db: Kysely<Database>;
  readonly reader: MetricReader;
  readonly drift?: DriftSampler;
  readonly clock: () => Date;
  /** Values per side of a KS comparison. Default 10,000. */
  readonly maxDriftSamples?: number;
}

export type CheckOutcome =
  | {
      readonly status: 'evaluated';
      readonly verdicts: readonly GroupVerdict[];
      readonly changes: IncidentChanges;
    }
  | { readonly status: 'skipped'; readonly reason: string };

type Declared = { readonly charts: Map<string, ChartSpec>; readonly drift: Map<string, DriftCheckSpec> };

/**
 * Evaluates one `metric-check-trigger` message: the check as its deployment declares it, over the window
 * ending at `due_at` (so a redelivered message computes the same answer). The verdict is recorded only if
 * this due time was not recorded yet (a compare-and-set on `last_evaluated_at`), so a message delivered
 * twice — a lapsed visibility timeout, another replica — evaluates once.
 */
export function createMetricCheckEvaluator(options: MetricCheckWorkerOptions) {
  const graphs = new Map<string, Declared>();
  const maxSamples = options.maxDriftSamples ?? 10_000;
  const declared = async (deploymentId: string): Promise<Declared> => {
    const known = graphs.get(deploymentId);
    if (known) return known;
    const row = await options.db
      .selectFrom('deployments')
      .select(['graph'])
      .where('id', '=', deploymentId)
      .executeTakeFirst();
    const graph = GraphArtifactSchema.safeParse(row?.graph);
    const result: Declared = {
      charts: new Map((graph.success ? (graph.data.charts ?? []) : []).map((c) => [c.name, c])),
      drift: new Map((graph.success ? (graph.data.driftChecks ?? []) : []).map((d) => [d.name, d])),
    };
    // Deployments never change; a bounded cache of the latest ones.
    if (graphs.size >= 64) graphs.delete(graphs.keys().next().value!);
    graphs.set(deploymentId, result);
    return result;
  };

  const driftVerdict = async (env: string, check: DriftCheckSpec, at: Date): Promise<GroupVerdict[]> => {
    if (!options.drift) throw new Error('drift checks need a drift sampler (none configured)');
    const from = new Date(at.getTime() - check.windowS * 1000);
    const [recent, reference] = await Promise.all([
      options.drift.recentValues(env, check.feature, from, at, maxSamples),
      options.drift.datasetValues(env, check.dataset, check.feature, maxSamples),
    ]);
    const statistic = recent.length >= check.minSamples ? ksStatistic(recent, reference) : null;
    return [
      {
        group: '',
        value: statistic,
        firing: statistic !== null && statistic >= check.threshold,
        series: statistic === null ? [] : [{ at: at.toISOString(), value: statistic }],
      },
    ];
  };

  return async function evaluate(message: MetricCheckMessage): Promise<CheckOutcome> {
    const dueAt = new Date(message.due_at);
    const checks = await declared(message.deployment_id);
    let identity: CheckIdentity;
    let verdicts: GroupVerdict[];
    const chart = message.kind === 'chart' ? checks.charts.get(message.name) : undefined;
    const drift = message.kind === 'drift' ? checks.drift.get(message.name) : undefined;
    if (chart?.trigger) {
      const t = chart.trigger;
      identity = {
        environmentId: message.environment_id,
        name: chart.name,
        kind: 'chart',
        trigger: t.name,
        severity: t.severity,
        owner: t.owner,
        description: t.description ?? chart.description ?? null,
        threshold: t.threshold,
        direction: t.direction,
      };
      verdicts = await evaluateChart(options.reader, message.environment_id, chart, dueAt);
    } else if (drift) {
      identity = {
        environmentId: message.environment_id,
        name: drift.name,
        kind: 'drift',
        trigger: drift.name,
        severity: drift.severity,
        owner: drift.owner,
        description: drift.description ?? `KS statistic of ${drift.feature} against dataset ${drift.dataset}`,
        threshold: drift.threshold,
        direction: 'above',
      };
      verdicts = await driftVerdict(message.environment_id, drift, dueAt);
    } else {
      return {
        status: 'skipped',
        reason: `deployment ${message.deployment_id} declares no check ${message.name}`,
      };
    }
    const values = verdicts.flatMap((v) => (v.value === null ? [] : [v.value]));
    const claimed = await options.db
      .updateTable('metric_checks')
      .set({
        last_evaluated_at: dueAt,
        last_value: values.length === 0 ? null : Math.max(...values),
      })
      .where('environment_id', '=', message.environment_id)
      .where('name', '=', message.name)
      .where((eb) => eb.or([eb('last_evaluated_at', 'is', null), eb('last_evaluated_at', '<', dueAt)]))
      .returning('name')
      .executeTakeFirst();
    if (!claimed) return { status: 'skipped', reason: 'already evaluated at or after this due time' };
    const changes = await recordEvaluation(options.db, identity, verdicts, options.clock());
    return { status: 'evaluated', verdicts, changes };
  };
}
