import { SlateError } from '@slate/graph';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { routesForOwner } from './alert-routes.ts';
import type { IncidentsTable, SeriesPoint } from './monitoring-schema.ts';

/** One group's verdict in one evaluation of a check. */
export interface GroupVerdict {
  /** `resolver=a,feature=b`, `''` without group-by. */
  readonly group: string;
  /** The watched value over the window; null when there was no data (neither fires nor clears). */
  readonly value: number | null;
  readonly firing: boolean;
  /** The watched series per minute (what the incident shows). */
  readonly series: readonly SeriesPoint[];
}

/** What the check says about itself when it fires. */
export interface CheckIdentity {
  readonly environmentId: string;
  readonly name: string;
  readonly kind: 'chart' | 'drift';
  readonly trigger: string;
  readonly severity: string;
  readonly owner: string;
  readonly description: string | null;
  readonly threshold: number;
  readonly direction: 'above' | 'below';
}

export interface IncidentChanges {
  readonly opened: string[];
  readonly resolved: string[];
}

/**
 * Applies one evaluation: a firing group without an open incident opens one (the partial unique index
 * keeps one open incident per check and group, so concurrent evaluations cannot open two), a firing group
 * with one updates it (de-duplicated: no new alert), and a group with a value that no longer fires
 * resolves it. Each open and resolve queues one delivery per route of the owner (unique per incident,
 * route and event). Groups without a value change nothing.
 */
export async function recordEvaluation(
  db: Kysely<Database>,
  check: CheckIdentity,
  verdicts: readonly GroupVerdict[],
  now: Date,
): Promise<IncidentChanges> {
  const opened: string[] = [];
  const resolved: string[] = [];
  for (const verdict of verdicts) {
    if (verdict.value === null) continue;
    if (verdict.firing) {
      const id = newId('inc');
      const inserted = await db
        .insertInto('incidents')
        .values({
          id,
          environment_id: check.environmentId,
          check_name: check.name,
          kind: check.kind,
          group_key: verdict.group,
          trigger_name: check.trigger,
          severity: check.severity,
          owner: check.owner,
          description: check.description,
          status: 'open',
          threshold: check.threshold,
          direction: check.direction,
          value: verdict.value,
          peak_value: verdict.value,
          series: JSON.stringify(verdict.series),
          opened_at: now,
          last_evaluated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['environment_id', 'check_name', 'group_key']).where('status', '=', 'open').doNothing(),
        )
        .returning('id')
        .executeTakeFirst();
      if (inserted) {
        opened.push(id);
        await queueDeliveries(db, check.environmentId, check.owner, id, 'trigger', now);
      } else {
        const worse = check.direction === 'above' ? sql`greatest` : sql`least`;
        await db
          .updateTable('incidents')
          .set({
            value: verdict.value,
            peak_value: sql`${worse}(peak_value, ${verdict.value})`,
            series: JSON.stringify(verdict.series),
            last_evaluated_at: now,
          })
          .where('environment_id', '=', check.environmentId)
          .where('check_name', '=', check.name)
          .where('group_key', '=', verdict.group)
          .where('status', '=', 'open')
          .execute();
      }
    } else {
      const rows = await db
        .updateTable('incidents')
        .set({ status: 'resolved', resolved_at: now, value: verdict.value, last_evaluated_at: now })
        .where('environment_id', '=', check.environmentId)
        .where('check_name', '=', check.name)
        .where('group_key', '=', verdict.group)
        .where('status', '=', 'open')
        .returning(['id', 'owner'])
        .execute();
      for (const row of rows) {
        resolved.push(row.id);
        await queueDeliveries(db, check.environmentId, row.owner, row.id, 'resolve', now);
      }
    }
  }
  return { opened, resolved };
}

/**
 * Resolves every open incident of checks the environment's active deployment no longer declares (a chart
 * deleted while firing must not page forever).
 */
export async function resolveRemovedChecks(
  db: Kysely<Database>,
  environmentId: string,
  declared: readonly string[],
  now: Date,
): Promise<void> {
  let query = db
    .updateTable('incidents')
    .set({ status: 'resolved', resolved_at: now })
    .where('environment_id', '=', environmentId)
    .where('status', '=', 'open');
  if (declared.length > 0) query = query.where('check_name', 'not in', declared);
  const rows = await query.returning(['id', 'owner']).execute();
  for (const row of rows) await queueDeliveries(db, environmentId, row.owner, row.id, 'resolve', now);
}

async function queueDeliveries(
  db: Kysely<Database>,
  environmentId: string,
  owner: string,
  incidentId: string,
  event: 'trigger' | 'resolve',
  now: Date,
): Promise<void> {
  const routes = await routesForOwner(db, environmentId, owner);
  if (routes.length === 0) return;
  await db
    .insertInto('alert_deliveries')
    .values(
      routes.map((route) => ({
        id: newId('dlv'),
        incident_id: incidentId,
        route_id: route.id,
        event,
        status: 'pending' as const,
        next_attempt_at: now,
        created_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['incident_id', 'route_id', 'event']).doNothing())
    .execute();
}

/** An incident as the API shows it. */
export interface IncidentView {
  readonly id: string;
  readonly environment_id: string;
  readonly check: string;
  readonly kind: 'chart' | 'drift';
  readonly group: string;
  readonly trigger: string;
  readonly severity: string;
  readonly owner: string;
  readonly description: string | null;
  readonly status: 'open' | 'resolved';
  readonly acknowledged: boolean;
  readonly acked_by: string | null;
  readonly acked_at: string | null;
  readonly value: number | null;
  readonly peak_value: number | null;
  readonly threshold: number;
  readonly direction: 'above' | 'below';
  readonly opened_at: string;
  readonly resolved_at: string | null;
  readonly series: SeriesPoint[];
}

export function incidentView(row: Selectable<IncidentsTable>): IncidentView {
  return {
    id: row.id,
    environment_id: row.environment_id,
    check: row.check_name,
    kind: row.kind,
    group: row.group_key,
    trigger: row.trigger_name,
    severity: row.severity,
    owner: row.owner,
    description: row.description,
    status: row.status,
    acknowledged: row.acked_at !== null,
    acked_by: row.acked_by,
    acked_at: row.acked_at?.toISOString() ?? null,
    value: row.value,
    peak_value: row.peak_value,
    threshold: row.threshold,
    direction: row.direction,
    opened_at: row.opened_at.toISOString(),
    resolved_at: row.resolved_at?.toISOString() ?? null,
    series: row.series,
  };
}

/** Incidents of an environment, newest first. */
export async function listIncidents(
  db: Kysely<Database>,
  environmentId: string,
  options: { status?: 'open' | 'resolved'; limit: number },
): Promise<IncidentView[]> {
  let query = db.selectFrom('incidents').selectAll().where('environment_id', '=', environmentId);
  if (options.status) query = query.where('status', '=', options.status);
  const rows = await query.orderBy('opened_at', 'desc').orderBy('id').limit(options.limit).execute();
  return rows.map(incidentView);
}

/**
 * Acknowledges an incident: someone is on it. It stays open (and resolves by itself when it clears);
 * acknowledging twice keeps the first acknowledgement.
 * @throws SlateError not_found `INCIDENT_NOT_FOUND`.
 */
export async function ackIncident(
  db: Kysely<Database>,
  environmentId: string,
  id: string,
  by: string,
  now: Date,
): Promise<IncidentView> {
  await db
    .updateTable('incidents')
    .set({ acked_at: now, acked_by: by })
    .where('environment_id', '=', environmentId)
    .where('id', '=', id)
    .where('acked_at', 'is', null)
    .execute();
  const row = await db
    .selectFrom('incidents')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'INCIDENT_NOT_FOUND', `no incident ${id} in ${environmentId}`);
  return incidentView(row);
}
