import { dueFireTimes, GraphArtifactSchema } from '@slate/graph';
import type { Queue } from '@slate/stores';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/schema.ts';
import { resolveRemovedChecks } from './incidents.ts';

/** A check of a deployment: a chart with a trigger, or a drift check. */
export interface DeclaredCheck {
  readonly name: string;
  readonly kind: 'chart' | 'drift';
  readonly everyS: number;
}

/** The `metric-check-trigger` message: evaluate this check as of `due_at`. */
export interface MetricCheckMessage {
  readonly [key: string]: unknown;
  readonly environment_id: string;
  readonly deployment_id: string;
  readonly name: string;
  readonly kind: 'chart' | 'drift';
  readonly due_at: string;
  readonly idempotency_key: string;
}

/** The checks a deployment's graph declares (charts without a trigger are only drawn, never evaluated). */
export function declaredChecks(graph: unknown): DeclaredCheck[] {
  const parsed = GraphArtifactSchema.safeParse(graph);
  if (!parsed.success) return [];
  return [
    ...(parsed.data.charts ?? []).flatMap((c) =>
      c.trigger ? [{ name: c.name, kind: 'chart' as const, everyS: c.everyS }] : [],
    ),
    ...(parsed.data.driftChecks ?? []).map((d) => ({
      name: d.name,
      kind: 'drift' as const,
      everyS: d.everyS,
    })),
  ];
}

/** The deterministic key of one evaluation: the same on every replica and every retried pass. */
export const metricCheckKey = (environmentId: string, name: string, dueAt: Date) =>
  `metric-check:${environmentId}:${name}:${dueAt.toISOString()}`;

export interface MetricCheckSchedulerOptions {
  readonly db: Kysely<Database>;
  readonly queue: Queue<MetricCheckMessage>;
  readonly clock: () => Date;
  /** Due evaluations enqueued per check when catching up (the latest). Default 1: no replay storm. */
  readonly maxMissedRuns?: number;
  readonly logger?: Logger;
}

/**
 * One pass of the check scheduler, with the schedules' firing rules (ADR 0004): reconcile `metric_checks`
 * with every environment's active deployment (a check first seen, or whose period changed, starts from
 * now: nothing before it is evaluated; checks no longer declared go inactive and their open incidents
 * resolve), then enqueue each due evaluation on `metric-check-trigger` with the key
 * `metric-check:<env>:<name>:<due>` and only then advance the watermark by compare-and-set. Replicas
 * compute the same keys (the queue keeps one message per key) and one compare-and-set wins; after
 * downtime only the latest `maxMissedRuns` due times are enqueued.
 */
export function createMetricCheckScheduler(options: MetricCheckSchedulerOptions) {
  const maxMissed = Math.max(1, options.maxMissedRuns ?? 1);
  const byDeployment = new Map<string, DeclaredCheck[]>();

  const reconcile = async (now: Date) => {
    const environments = await options.db
      .selectFrom('environments')
      .select(['id', 'active_deployment_id'])
      .orderBy('id')
      .execute();
    const missing = environments.flatMap((e) =>
      e.active_deployment_id && !byDeployment.has(e.active_deployment_id) ? [e.active_deployment_id] : [],
    );
    if (missing.length > 0)
      for (const row of await options.db
        .selectFrom('deployments')
        .select(['id', 'graph'])
        .where('id', 'in', missing)
        .execute())
        byDeployment.set(row.id, declaredChecks(row.graph));
    const stored = await options.db.selectFrom('metric_checks').selectAll().execute();
    for (const environment of environments) {
      const declared = environment.active_deployment_id
        ? (byDeployment.get(environment.active_deployment_id) ?? [])
        : [];
      const rows = stored.filter((r) => r.environment_id === environment.id);
      if (declared.length === 0 && rows.every((r) => !r.active)) continue;
      for (const check of declared) {
        const row = rows.find((r) => r.name === check.name);
        const restart = !row || !row.active || row.every_s !== check.everyS || row.kind !== check.kind;
        if (!row)
          await options.db
            .insertInto('metric_checks')
            .values({
              environment_id: environment.id,
              name: check.name,
              kind: check.kind,
              every_s: check.everyS,
              active: true,
              deployment_id: environment.active_deployment_id,
              watermark_at: now,
              updated_at: now,
            })
            .onConflict((oc) => oc.columns(['environment_id', 'name']).doNothing())
            .execute();
        else if (restart || row.deployment_id !== environment.active_deployment_id)
          await options.db
            .updateTable('metric_checks')
            .set({
              kind: check.kind,
              every_s: check.everyS,
              active: true,
              deployment_id: environment.active_deployment_id,
              ...(restart ? { watermark_at: now } : {}),
              updated_at: now,
            })
            .where('environment_id', '=', environment.id)
            .where('name', '=', check.name)
            .execute();
      }
      const names = declared.map((c) => c.name);
      const gone = rows.filter((r) => r.active && !names.includes(r.name));
      if (gone.length > 0) {
        await options.db
          .updateTable('metric_checks')
          .set({ active: false, updated_at: now })
          .where('environment_id', '=', environment.id)
          .where(
            'name',
            'in',
            gone.map((r) => r.name),
          )
          .execute();
        await resolveRemovedChecks(options.db, environment.id, names, now);
      }
    }
    const live = new Set(environments.map((e) => e.active_deployment_id));
    for (const id of byDeployment.keys()) if (!live.has(id)) byDeployment.delete(id);
  };

  /** One pass at the clock's time; resolves with the keys it enqueued (sent or found already sent). */
  return async function tick(): Promise<{ key: string; sent: boolean }[]> {
    const now = options.clock();
    await reconcile(now);
    const fired: { key: string; sent: boolean }[] = [];
    const rows = await options.db
      .selectFrom('metric_checks')
      .selectAll()
      .where('active', '=', true)
      .execute();
    for (const row of rows) {
      const { due, skipped } = dueFireTimes(`${row.every_s}s`, row.watermark_at, now, maxMissed);
      if (skipped > 0)
        options.logger?.info(
          { environment: row.environment_id, check: row.name, skipped },
          'missed check evaluations skipped',
        );
      if (due.length === 0 || !row.deployment_id) continue;
      let reached: Date | undefined;
      for (const dueAt of due) {
        const key = metricCheckKey(row.environment_id, row.name, dueAt);
        try {
          const result = await options.queue.send(
            {
              environment_id: row.environment_id,
              deployment_id: row.deployment_id,
              name: row.name,
              kind: row.kind,
              due_at: dueAt.toISOString(),
              idempotency_key: key,
            },
            { idempotencyKey: key },
          );
          fired.push({ key, sent: !result.duplicate });
          reached = dueAt;
        } catch (error) {
          options.logger?.error({ key, err: String(error) }, 'metric check not enqueued');
          break;
        }
      }
      if (reached)
        await options.db
          .updateTable('metric_checks')
          .set({ watermark_at: reached, updated_at: now })
          .where('environment_id', '=', row.environment_id)
          .where('name', '=', row.name)
          .where('watermark_at', '=', row.watermark_at)
          .execute();
    }
    return fired;
  };
}
