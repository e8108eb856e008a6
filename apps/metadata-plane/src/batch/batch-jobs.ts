import { type Kysely, type Selectable, sql } from 'kysely';
import { z } from 'zod';
import type { BatchJobsTable, Database } from '../db/schema.ts';
import { decodeCursor, encodeCursor, type Page, type PageQuery } from '../pagination.ts';

/**
 * Where long-running work stands: `QUEUED` and `RUNNING` until it ends `SUCCEEDED`, `FAILED` or `CANCELED`
 * (someone stopped it; what it wrote before stays).
 */
export const BatchJobStatusSchema = z.enum(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED']);
export type BatchJobStatus = z.infer<typeof BatchJobStatusSchema>;

/** The statuses a job ends in (its final report carries one of them). */
export const FinishedBatchJobStatusSchema = BatchJobStatusSchema.extract(['SUCCEEDED', 'FAILED', 'CANCELED']);

/**
 * A status update of long-running work on a data plane — an offline query or a resolver run — as it travels
 * over the `batch-status` queue. Updates may arrive out of order; the newest `at` wins.
 */
export const BatchStatusSchema = z.object({
  operation_id: z.string().min(1).max(200),
  environment_id: z.string().min(1),
  kind: z.enum(['OFFLINE_QUERY', 'RUN']),
  name: z.string().max(500).nullish(),
  status: BatchJobStatusSchema,
  /** Fraction done, 0 to 1, when the data plane knows it. */
  progress: z.number().min(0).max(1).nullish(),
  error: z.string().max(4_000).nullish(),
  at: z.iso.datetime({ offset: true }),
});
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/** A batch status as the queue carries it: which data plane reported it. */
export type BatchStatusMessage = BatchStatus & {
  readonly [key: string]: unknown;
  readonly data_plane_id: string;
};

export interface BatchJobView {
  readonly id: string;
  readonly environment_id: string;
  readonly kind: string;
  readonly name: string | null;
  readonly status: string;
  readonly progress: number | null;
  readonly error: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/**
 * Applies a status update: creates the job or moves it forward, never back (an older `at` changes nothing).
 * Updates for an environment the reporting data plane does not serve are ignored.
 */
export async function recordBatchStatus(db: Kysely<Database>, message: BatchStatusMessage): Promise<void> {
  const served = await db
    .selectFrom('environments')
    .select('id')
    .where('id', '=', message.environment_id)
    .where('data_plane_id', '=', message.data_plane_id)
    .executeTakeFirst();
  if (!served) return;
  const at = new Date(message.at);
  const values = {
    kind: message.kind,
    name: message.name ?? null,
    status: message.status,
    progress: message.progress ?? null,
    error: message.error ?? null,
    reported_at: at,
  };
  await db
    .insertInto('batch_jobs')
    .values({
      id: message.operation_id,
      environment_id: message.environment_id,
      data_plane_id: message.data_plane_id,
      ...values,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet(values).where(sql<boolean>`batch_jobs.reported_at <= ${at}`),
    )
    .execute();
}

/** When a job that is still going counts as lost: its data plane reports every few seconds while it runs. */
export interface Liveness {
  readonly now: Date;
  /** A QUEUED or RUNNING job without a report for longer than this is shown FAILED. */
  readonly staleAfterMs: number;
}

/**
 * A job as shown: a QUEUED or RUNNING job whose data plane has not reported on it for `staleAfterMs` is
 * FAILED (`HEARTBEAT_LOST`). Only the view changes, never the row: if a data plane takes the job over and
 * reports again, it shows as running again.
 */
export function viewOf(row: Selectable<BatchJobsTable>, liveness?: Liveness): BatchJobView {
  const lost =
    liveness !== undefined &&
    (row.status === 'QUEUED' || row.status === 'RUNNING') &&
    liveness.now.getTime() - row.reported_at.getTime() > liveness.staleAfterMs;
  return {
    id: row.id,
    environment_id: row.environment_id,
    kind: row.kind,
    name: row.name,
    status: lost ? 'FAILED' : row.status,
    progress: row.progress,
    error: lost
      ? `HEARTBEAT_LOST: no report from its data plane for over ${Math.round(liveness.staleAfterMs / 1000)} s`
      : row.error,
    created_at: row.created_at.toISOString(),
    updated_at: row.reported_at.toISOString(),
  };
}

/** An environment's jobs, most recently updated first (see `viewOf` for jobs whose data plane went quiet). */
export async function listBatchJobs(
  db: Kysely<Database>,
  environmentId: string,
  page: PageQuery,
  liveness?: Liveness,
): Promise<Page<BatchJobView>> {
  const offset = page.cursor ? Number(decodeCursor(page.cursor)) || 0 : 0;
  const rows = await db
    .selectFrom('batch_jobs')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .orderBy('reported_at', 'desc')
    .orderBy('id')
    .offset(offset)
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit).map((r) => viewOf(r, liveness));
  const next = rows.length > page.limit ? encodeCursor(offset + page.limit) : null;
  return { items, next_cursor: next };
}
