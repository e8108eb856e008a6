import { GraphArtifactSchema, nextFireTime, SlateError } from '@slate/graph';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { Database, SchedulesTable } from '../db/schema.ts';

/** What a schedule fires: a `cron` resolver (a run) or a scheduled query (an offline query). */
export const ScheduleKindSchema = z.enum(['resolver', 'query']);
export type ScheduleKind = z.infer<typeof ScheduleKindSchema>;

/** Chalk's scheduled-resolver control status (chalk.md §2.3). */
export const ScheduleStateSchema = z.enum(['PLAY', 'PAUSE']);
export type ScheduleState = z.infer<typeof ScheduleStateSchema>;

/** One schedule of a deployment's graph. */
export interface DeclaredSchedule {
  readonly kind: ScheduleKind;
  /** The resolver's FQN or the scheduled query's name. */
  readonly name: string;
  readonly schedule: string;
}

/** A schedule as `GET /v1/environments/:id/schedules` lists it. */
export interface ScheduleView {
  readonly environment_id: string;
  readonly kind: ScheduleKind;
  readonly name: string;
  readonly schedule: string;
  readonly state: ScheduleState;
  readonly deployment_id: string | null;
  /** The next due time (null while paused); in the past when the scheduler is catching up. */
  readonly next_fire_at: string | null;
  readonly last_fired_at: string | null;
  readonly updated_at: string;
}

/**
 * The schedules of a graph artifact: resolvers with a `cron` (streaming resolvers excepted: they run on
 * their topic) and scheduled queries. Schedules neither a crontab nor a duration are left out (`collectGraph`
 * refuses them, so only a hand-made artifact has one).
 */
export function declaredSchedules(graph: unknown): DeclaredSchedule[] {
  const parsed = GraphArtifactSchema.safeParse(graph);
  if (!parsed.success) return [];
  const out: DeclaredSchedule[] = [];
  for (const resolver of parsed.data.resolvers)
    if (resolver.cron && !resolver.stream)
      out.push({ kind: 'resolver', name: resolver.fqn, schedule: resolver.cron });
  for (const query of parsed.data.scheduledQueries ?? [])
    out.push({ kind: 'query', name: query.name, schedule: query.schedule });
  return out.filter((s) => validSchedule(s.schedule));
}

function validSchedule(schedule: string): boolean {
  try {
    nextFireTime(schedule, new Date(0));
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes an environment's `schedules` rows match the schedules of its deployment, re-reading the stored
 * rows rather than trusting a previous pass: a schedule first seen — or whose crontab changed, or that comes
 * back after a deployment without it — starts from `now` (nothing before it is replayed); one no longer
 * declared is deactivated (its PLAY/PAUSE state is kept for when it returns). `declared = null` (no active
 * deployment) deactivates them all. Every write is conditional on the row it read, so replicas reconciling
 * at once agree.
 */
export async function syncSchedules(
  db: Kysely<Database>,
  environmentId: string,
  deploymentId: string | null,
  declared: readonly DeclaredSchedule[] | null,
  now: Date,
  /** The environment's rows, when the caller read them already (a scheduler pass reads all at once). */
  known?: readonly Selectable<SchedulesTable>[],
): Promise<void> {
  const rows =
    known ??
    (await db.selectFrom('schedules').selectAll().where('environment_id', '=', environmentId).execute());
  const stored = new Map(rows.map((r) => [`${r.kind}\u0000${r.name}`, r]));
  const wanted = new Set<string>();
  for (const schedule of declared ?? []) {
    const id = `${schedule.kind}\u0000${schedule.name}`;
    wanted.add(id);
    const row = stored.get(id);
    if (!row) {
      await db
        .insertInto('schedules')
        .values({
          environment_id: environmentId,
          kind: schedule.kind,
          name: schedule.name,
          schedule: schedule.schedule,
          state: 'PLAY',
          active: true,
          deployment_id: deploymentId,
          watermark_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['environment_id', 'kind', 'name']).doNothing())
        .execute();
    } else if (!row.active || row.schedule !== schedule.schedule) {
      await db
        .updateTable('schedules')
        .set({
          schedule: schedule.schedule,
          active: true,
          deployment_id: deploymentId,
          watermark_at: now,
          updated_at: now,
        })
        .where('environment_id', '=', environmentId)
        .where('kind', '=', schedule.kind)
        .where('name', '=', schedule.name)
        .where('schedule', '=', row.schedule)
        .where('active', '=', row.active)
        .execute();
    } else if (row.deployment_id !== deploymentId) {
      await db
        .updateTable('schedules')
        .set({ deployment_id: deploymentId, updated_at: now })
        .where('environment_id', '=', environmentId)
        .where('kind', '=', schedule.kind)
        .where('name', '=', schedule.name)
        .execute();
    }
  }
  for (const row of rows) {
    if (!row.active || wanted.has(`${row.kind}\u0000${row.name}`)) continue;
    await db
      .updateTable('schedules')
      .set({ active: false, updated_at: now })
      .where('environment_id', '=', environmentId)
      .where('kind', '=', row.kind)
      .where('name', '=', row.name)
      .where('active', '=', true)
      .execute();
  }
}

/** An environment's active schedules, by kind then name. */
export async function listSchedules(db: Kysely<Database>, environmentId: string): Promise<ScheduleView[]> {
  const rows = await db
    .selectFrom('schedules')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('active', '=', true)
    .orderBy('kind')
    .orderBy('name')
    .execute();
  return rows.map((r) => ({
    environment_id: r.environment_id,
    kind: r.kind,
    name: r.name,
    schedule: r.schedule,
    state: r.state,
    deployment_id: r.deployment_id,
    next_fire_at: r.state === 'PLAY' ? nextFireTime(r.schedule, r.watermark_at).toISOString() : null,
    last_fired_at: r.last_fired_at?.toISOString() ?? null,
    updated_at: r.updated_at.toISOString(),
  }));
}

/**
 * Pauses or resumes a schedule (`UpdateScheduledResolverControl`). Pausing stops firing at once. Resuming
 * moves the watermark to `now`: the due times of the paused period are not replayed, the next fire is the
 * first due time after the resume (the same rule as a schedule first seen). Setting the state it already has
 * changes nothing.
 *
 * @throws SlateError `SCHEDULE_NOT_FOUND` (not_found) when the environment has no such active schedule.
 */
export async function controlSchedule(
  db: Kysely<Database>,
  target: { environmentId: string; kind: ScheduleKind; name: string },
  state: ScheduleState,
  now: Date,
): Promise<ScheduleView> {
  await db
    .updateTable('schedules')
    .set({ state, updated_at: now, ...(state === 'PLAY' ? { watermark_at: now } : {}) })
    .where('environment_id', '=', target.environmentId)
    .where('kind', '=', target.kind)
    .where('name', '=', target.name)
    .where('active', '=', true)
    .where('state', '<>', state)
    .executeTakeFirst();
  const view = (await listSchedules(db, target.environmentId)).find(
    (s) => s.kind === target.kind && s.name === target.name,
  );
  if (!view)
    throw new SlateError(
      'not_found',
      'SCHEDULE_NOT_FOUND',
      `environment ${target.environmentId} has no scheduled ${target.kind} '${target.name}'`,
    );
  return view;
}

/**
 * Moves a schedule's watermark from `from` to `to` after its due times up to `to` were enqueued — only if
 * nobody moved it meanwhile (another replica, a pause, a redeploy changing the crontab). Returns whether
 * this caller moved it.
 */
export async function advanceWatermark(
  db: Kysely<Database>,
  target: { environmentId: string; kind: ScheduleKind; name: string; schedule: string },
  from: Date,
  to: Date,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('schedules')
    .set({ watermark_at: to, last_fired_at: to, updated_at: now })
    .where('environment_id', '=', target.environmentId)
    .where('kind', '=', target.kind)
    .where('name', '=', target.name)
    .where('schedule', '=', target.schedule)
    .where('state', '=', 'PLAY')
    .where('active', '=', true)
    .where('watermark_at', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Playing, active schedules of every environment (what a scheduler pass considers). */
export async function playingSchedules(db: Kysely<Database>) {
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('active', '=', true)
    .where('state', '=', 'PLAY')
    .orderBy('environment_id')
    .orderBy('kind')
    .orderBy('name')
    .execute();
}
