import { dueFireTimes } from '@slate/graph';
import { createSerialTicker } from '@slate/scheduling';
import type { Queue } from '@slate/stores';
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { Database, SchedulesTable } from '../db/schema.ts';
import { pruneDeliveries } from './schedule-deliveries.ts';
import {
  advanceWatermark,
  type DeclaredSchedule,
  declaredSchedules,
  playingSchedules,
  type ScheduleKind,
  syncSchedules,
} from './schedules.ts';

/** A trigger a scheduler pass enqueued. */
export interface ScheduleFire {
  readonly environmentId: string;
  readonly kind: ScheduleKind;
  readonly name: string;
  readonly dueAt: Date;
  /** The idempotency key: `cron:<environment>:<resolver>:<due>` or `scheduled-query:<environment>:<name>:<due>`. */
  readonly key: string;
  /** False when the queue had already seen the key (another replica, or a retried pass, sent it first). */
  readonly sent: boolean;
}

export interface ScheduleSchedulerOptions {
  readonly db: Kysely<Database>;
  /** The `scheduled-resolver-trigger` queue. */
  readonly resolverQueue: Queue;
  /** The `scheduled-query-trigger` queue. */
  readonly queryQueue: Queue;
  /** Injected clock (tests move it by hand). */
  readonly clock?: () => Date;
  /**
   * Due times fired per schedule per pass when the scheduler fell behind (every replica down, or a slow
   * pass): the latest ones, the older ones skipped and logged. Default 1 — the data plane's rule, as a
   * Kubernetes CronJob catching up fires once rather than replaying every missed run.
   */
  readonly maxMissedRuns?: number;
  /** Default 1 s. */
  readonly intervalMs?: number;
  /** Settled deliveries are forgotten after this long. Default 7 days. */
  readonly retainDeliveriesMs?: number;
  readonly logger?: Logger;
}

/** Fires the cron resolvers and scheduled queries of every environment's active deployment. */
export interface ScheduleScheduler {
  /** One pass at the clock's time: reconciles schedules, enqueues what is due; resolves with what it fired. */
  tick(): Promise<ScheduleFire[]>;
  /** A pass every `intervalMs` until `stop`. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Creates the metadata plane's scheduler. Each pass re-reads every environment's active deployment and the
 * `schedules` table (state lives in PostgreSQL, not in this process, so a restart neither replays without
 * bound nor skips: it resumes from each schedule's stored watermark, capped to `maxMissedRuns`), then for
 * each playing schedule enqueues its due times — a trigger with a deterministic idempotency key on
 * `scheduled-resolver-trigger` or `scheduled-query-trigger` — and only then advances the watermark, with a
 * compare-and-set on the watermark it read. Several replicas may run passes at once: they compute the same
 * due times and keys, the queue and the delivery table keep one message per key, and one replica advances
 * the watermark. A crash between enqueue and advance re-sends the same keys on the next pass, which again
 * changes nothing.
 *
 * @example
 * const scheduler = createScheduleScheduler({ db, resolverQueue: queues['scheduled-resolver-trigger'], queryQueue: queues['scheduled-query-trigger'] });
 * scheduler.start();
 */
export function createScheduleScheduler(options: ScheduleSchedulerOptions): ScheduleScheduler {
  const clock = options.clock ?? (() => new Date());
  const maxMissed = Math.max(1, options.maxMissedRuns ?? 1);
  const retainMs = options.retainDeliveriesMs ?? 7 * 24 * 3_600_000;
  // Deployments never change: their schedules are parsed once per deployment id.
  const declaredByDeployment = new Map<string, DeclaredSchedule[]>();
  let lastPrune = 0;

  const reconcile = async (now: Date) => {
    const environments = await options.db
      .selectFrom('environments')
      .select(['id', 'active_deployment_id'])
      .orderBy('id')
      .execute();
    const missing = [
      ...new Set(
        environments.flatMap((e) =>
          e.active_deployment_id && !declaredByDeployment.has(e.active_deployment_id)
            ? [e.active_deployment_id]
            : [],
        ),
      ),
    ];
    if (missing.length > 0) {
      const rows = await options.db
        .selectFrom('deployments')
        .select(['id', 'graph'])
        .where('id', 'in', missing)
        .execute();
      for (const row of rows) declaredByDeployment.set(row.id, declaredSchedules(row.graph));
    }
    // Every stored schedule in one read; each environment is then reconciled against its own rows.
    const stored = new Map<string, Selectable<SchedulesTable>[]>();
    for (const row of await options.db.selectFrom('schedules').selectAll().execute())
      stored.set(row.environment_id, [...(stored.get(row.environment_id) ?? []), row]);
    const live = new Set<string>();
    for (const environment of environments) {
      const deploymentId = environment.active_deployment_id;
      if (deploymentId) live.add(deploymentId);
      const declared = deploymentId ? (declaredByDeployment.get(deploymentId) ?? null) : null;
      const rows = stored.get(environment.id) ?? [];
      // Nothing to write for an environment without schedules, declared or stored.
      if (rows.length === 0 && (declared === null || declared.length === 0)) continue;
      await syncSchedules(options.db, environment.id, deploymentId, declared, now, rows);
    }
    for (const id of declaredByDeployment.keys()) if (!live.has(id)) declaredByDeployment.delete(id);
  };

  const tick = async (): Promise<ScheduleFire[]> => {
    const now = clock();
    await reconcile(now);
    const fires: ScheduleFire[] = [];
    for (const row of await playingSchedules(options.db)) {
      let due: readonly Date[];
      let skipped: number;
      try {
        ({ due, skipped } = dueFireTimes(row.schedule, row.watermark_at, now, maxMissed));
      } catch (error) {
        options.logger?.warn({ schedule: row.name, err: String(error) }, 'unusable schedule');
        continue;
      }
      if (skipped > 0)
        options.logger?.warn(
          { environment: row.environment_id, kind: row.kind, name: row.name, skipped },
          'missed scheduled runs skipped',
        );
      if (due.length === 0) continue;
      const queue = row.kind === 'resolver' ? options.resolverQueue : options.queryQueue;
      let failed = false;
      const sent: ScheduleFire[] = [];
      for (const dueAt of due) {
        const at = dueAt.toISOString();
        const key =
          row.kind === 'resolver'
            ? `cron:${row.environment_id}:${row.name}:${at}`
            : `scheduled-query:${row.environment_id}:${row.name}:${at}`;
        const body =
          row.kind === 'resolver'
            ? {
                resolver_fqn: row.name,
                environment: row.environment_id,
                lower_bound: null,
                upper_bound: null,
                idempotency_key: key,
                trigger: 'CRON',
                due_at: at,
              }
            : {
                query_name: row.name,
                environment: row.environment_id,
                idempotency_key: key,
                trigger: 'CRON',
                due_at: at,
              };
        try {
          const result = await queue.send(body, { idempotencyKey: key });
          sent.push({
            environmentId: row.environment_id,
            kind: row.kind,
            name: row.name,
            dueAt,
            key,
            sent: !result.duplicate,
          });
        } catch (error) {
          // The watermark stays: the next pass sends this due time again (same key).
          options.logger?.error({ key, err: String(error) }, 'scheduled trigger not enqueued');
          failed = true;
          break;
        }
      }
      fires.push(...sent);
      const reached = failed ? sent.at(-1)?.dueAt : due.at(-1);
      if (reached)
        await advanceWatermark(
          options.db,
          { environmentId: row.environment_id, kind: row.kind, name: row.name, schedule: row.schedule },
          row.watermark_at,
          reached,
          now,
        );
    }
    if (now.getTime() - lastPrune > 3_600_000) {
      lastPrune = now.getTime();
      await pruneDeliveries(options.db, new Date(now.getTime() - retainMs));
    }
    return fires;
  };

  return createSerialTicker(tick, {
    intervalMs: options.intervalMs,
    onError: (error) => options.logger?.warn({ err: String(error) }, 'scheduler pass failed'),
  });
}
