import { SlateError } from '@slate/graph';
import { truncatedText } from '@slate/http-edge';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import type { ScheduleKind } from './schedules.ts';

/**
 * A trigger message as the `scheduled-resolver-trigger` and `scheduled-query-trigger` queues carry it: the
 * data plane's run trigger (`resolver_fqn`, …) or scheduled-query trigger (`query_name`, …), plus the due
 * time. Other fields travel to the data plane untouched; it validates them.
 */
export const TriggerBodySchema = z.looseObject({
  environment: z.string().min(1),
  idempotency_key: z.string().min(1).max(256),
  due_at: z.iso.datetime({ offset: true }),
  resolver_fqn: z.string().min(1).optional(),
  query_name: z.string().min(1).optional(),
});
export type TriggerBody = z.infer<typeof TriggerBodySchema>;

/** A trigger leased to a data plane. */
export interface LeasedTrigger {
  readonly key: string;
  readonly kind: ScheduleKind;
  readonly body: Record<string, unknown>;
  /** 1 on the first lease. */
  readonly attempt: number;
}

/** `POST /v1/data-plane/triggers/lease`. */
export const LeaseRequestSchema = z.object({
  max: z.number().int().min(1).max(100).default(10),
  /** Long poll: seconds to wait for a first trigger. */
  wait: z.number().min(0).max(25).default(0),
});

/** `POST /v1/data-plane/triggers/ack`: the outcome of each leased trigger. */
export const AckRequestSchema = z.object({
  acks: z
    .array(
      z.object({
        key: z.string().min(1).max(256),
        /** What the data plane started (run id, revision id); absent with `error`. */
        operation_id: z.string().min(1).max(200).nullish(),
        /** Why it could not start it: retried later, dead after `MAX_DELIVERY_ATTEMPTS`. */
        error: truncatedText(4_000).nullish(),
      }),
    )
    .max(100),
});
export type AckRequest = z.infer<typeof AckRequestSchema>;

/** Leases after which a refused trigger is given up (`dead`). */
export const MAX_DELIVERY_ATTEMPTS = 5;
/** A leased trigger neither acknowledged nor refused in this time is leased again (its data plane died). */
export const LEASE_SECONDS = 60;

/**
 * Records a trigger taken off a queue as a delivery for the environment's data plane, once per idempotency
 * key (a redelivered or re-sent message changes nothing). Returns the data plane to wake, if any.
 *
 * @throws SlateError `INVALID_TRIGGER` (input) for a body that is no trigger, `ENVIRONMENT_NOT_FOUND`.
 */
export async function recordDelivery(
  db: Kysely<Database>,
  body: unknown,
  now: Date,
): Promise<{ readonly dataPlaneId: string | null; readonly created: boolean }> {
  const parsed = TriggerBodySchema.safeParse(body);
  if (!parsed.success || (parsed.data.resolver_fqn === undefined) === (parsed.data.query_name === undefined))
    throw new SlateError('input', 'INVALID_TRIGGER', 'the message is neither a resolver nor a query trigger');
  const trigger = parsed.data;
  const environment = await db
    .selectFrom('environments')
    .select(['id', 'data_plane_id'])
    .where('id', '=', trigger.environment)
    .executeTakeFirst();
  if (!environment)
    throw new SlateError(
      'not_found',
      'ENVIRONMENT_NOT_FOUND',
      `environment ${trigger.environment} does not exist`,
    );
  const inserted = await db
    .insertInto('schedule_deliveries')
    .values({
      key: trigger.idempotency_key,
      environment_id: trigger.environment,
      kind: trigger.resolver_fqn !== undefined ? 'resolver' : 'query',
      name: trigger.resolver_fqn ?? trigger.query_name!,
      due_at: new Date(trigger.due_at),
      body: JSON.stringify(trigger),
      status: 'pending',
      attempts: 0,
      created_at: now,
    })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  return {
    dataPlaneId: environment.data_plane_id,
    created: Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0,
  };
}

/**
 * Leases up to `max` pending triggers of the environments a data plane serves now (re-read, so a trigger
 * follows its environment to another data plane), oldest first. `FOR UPDATE SKIP LOCKED` keeps two
 * concurrent leases — two replicas of the data plane, or of the metadata plane — from taking the same one.
 */
export async function leaseDeliveries(
  db: Kysely<Database>,
  dataPlaneId: string,
  max: number,
  now: Date,
  /** Who holds the lease: the instance (`<data plane>/<instance>`), so only it can settle it. */
  holder: string = dataPlaneId,
): Promise<LeasedTrigger[]> {
  const until = new Date(now.getTime() + LEASE_SECONDS * 1000);
  const result = await sql<{ key: string; kind: ScheduleKind; body: unknown; attempts: number }>`
    update schedule_deliveries set leased_until = ${until}, leased_by = ${holder}, attempts = attempts + 1
    where key in (
      select d.key from schedule_deliveries d join environments e on e.id = d.environment_id
      where e.data_plane_id = ${dataPlaneId} and d.status = 'pending'
        and (d.leased_until is null or d.leased_until <= ${now})
      order by d.created_at, d.key
      limit ${max}
      for update of d skip locked)
    returning key, kind, body, attempts`.execute(db);
  return result.rows
    .map((r) => ({
      key: r.key,
      kind: r.kind,
      body: (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Record<string, unknown>,
      attempt: Number(r.attempts),
    }))
    .sort((a, b) => String(a.body.due_at).localeCompare(String(b.body.due_at)) || a.key.localeCompare(b.key));
}

/**
 * Settles triggers a data plane (instance) leased: accepted ones are done; refused ones are leased again
 * after a backoff (2^attempt seconds), or given up (`dead`) after `MAX_DELIVERY_ATTEMPTS`. Keys the
 * `holder` does not hold (another replica's lease, a take-over after expiry, or already settled) are ignored.
 */
export async function settleDeliveries(
  db: Kysely<Database>,
  holder: string,
  acks: AckRequest['acks'],
  now: Date,
): Promise<{ accepted: number; retried: number; dead: number }> {
  const counts = { accepted: 0, retried: 0, dead: 0 };
  for (const ack of acks) {
    const row = await db
      .selectFrom('schedule_deliveries')
      .select(['attempts'])
      .where('key', '=', ack.key)
      .where('leased_by', '=', holder)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (!row) continue;
    const base = db
      .updateTable('schedule_deliveries')
      .where('key', '=', ack.key)
      .where('leased_by', '=', holder)
      .where('status', '=', 'pending');
    if (!ack.error) {
      await base
        .set({ status: 'accepted', finished_at: now, error: null, operation_id: ack.operation_id ?? null })
        .execute();
      counts.accepted++;
    } else if (row.attempts >= MAX_DELIVERY_ATTEMPTS) {
      await base.set({ status: 'dead', finished_at: now, error: ack.error }).execute();
      counts.dead++;
    } else {
      const retryAt = new Date(now.getTime() + 2 ** row.attempts * 1000);
      await base.set({ leased_until: retryAt, error: ack.error }).execute();
      counts.retried++;
    }
  }
  return counts;
}

/** One fire of a schedule as listed: the delivery and, once started, its run's or query's latest status. */
export interface ScheduleFireView {
  readonly key: string;
  readonly due_at: string;
  /** `pending` (waiting for or leased by the data plane), `accepted` or `dead`. */
  readonly delivery: string;
  readonly attempts: number;
  readonly error: string | null;
  readonly operation_id: string | null;
  /** The job's latest reported status (`QUEUED`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELED`), once reported. */
  readonly status: string | null;
  readonly created_at: string;
}

/** A schedule's fires, newest due time first. */
export async function listFires(
  db: Kysely<Database>,
  target: { environmentId: string; kind: ScheduleKind; name: string },
  limit: number,
): Promise<ScheduleFireView[]> {
  const rows = await db
    .selectFrom('schedule_deliveries as d')
    .leftJoin('batch_jobs as j', 'j.id', 'd.operation_id')
    .select([
      'd.key',
      'd.due_at',
      'd.status',
      'd.attempts',
      'd.error',
      'd.operation_id',
      'd.created_at',
      'j.status as job_status',
    ])
    .where('d.environment_id', '=', target.environmentId)
    .where('d.kind', '=', target.kind)
    .where('d.name', '=', target.name)
    .orderBy('d.due_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    key: r.key,
    due_at: r.due_at.toISOString(),
    delivery: r.status,
    attempts: r.attempts,
    error: r.error,
    operation_id: r.operation_id,
    status: r.job_status ?? null,
    created_at: r.created_at.toISOString(),
  }));
}

/** Forgets settled deliveries older than `before` (the idempotency they give is long past needed). */
export async function pruneDeliveries(db: Kysely<Database>, before: Date): Promise<void> {
  await db
    .deleteFrom('schedule_deliveries')
    .where('status', '<>', 'pending')
    .where('finished_at', '<', before)
    .execute();
}
