import { SlateError } from '@slate/graph';
import { truncatedText } from '@slate/http-edge';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { type BatchJobView, FinishedBatchJobStatusSchema, type Liveness, viewOf } from './batch-jobs.ts';

const isoTime = z.iso.datetime({ offset: true });

/** Characters of one reported error message kept; longer ones are truncated. */
export const MAX_REPORTED_ERROR_CHARS = 4_000;

/**
 * The final report of an offline query's revision or a run, sent once by the data plane when it ends and
 * carried by the `batch-report` queue: what it produced (rows, columns, bytes, the dataset revision it
 * wrote), how long it took and every error. Bounded so one report stays a small row.
 */
export const BatchReportSchema = z.object({
  operation_id: z.string().min(1).max(200),
  environment_id: z.string().min(1),
  kind: z.enum(['OFFLINE_QUERY', 'RUN']),
  name: z.string().max(500).nullish(),
  status: FinishedBatchJobStatusSchema,
  deployment_id: z.string().max(200).nullish(),
  started_at: isoTime.nullish(),
  finished_at: isoTime,
  duration_ms: z.number().nonnegative(),
  rows: z.number().int().nonnegative(),
  columns: z
    .array(z.object({ name: z.string().max(500), dtype: z.string().max(200) }))
    .max(10_000)
    .default([]),
  bytes_written: z.number().int().nonnegative().nullish(),
  output: z
    .object({
      bucket: z.literal('dataset'),
      keys: z.array(z.string().max(1_000)).max(10_000),
      dataset_id: z.string().max(500),
      dataset_name: z.string().max(500).nullish(),
      revision_id: z.string().max(200),
    })
    .nullish(),
  errors: z
    .array(
      z.object({
        code: z.string().max(200),
        // Cut, not refused: a refused final report would be lost with everything else it says.
        message: truncatedText(MAX_REPORTED_ERROR_CHARS),
        feature: z.string().max(500).optional(),
      }),
    )
    .max(1_000)
    .default([]),
  attempts: z.number().int().positive().default(1),
  at: isoTime,
});
export type BatchReport = z.infer<typeof BatchReportSchema>;

/** A final report as the queue carries it: which data plane sent it. */
export type BatchReportMessage = BatchReport & {
  readonly [key: string]: unknown;
  readonly data_plane_id: string;
};

/** One job with its final report (`null` while it runs, or when the report has not arrived yet). */
export type BatchJobDetail = BatchJobView & { readonly report: BatchReport | null };

/**
 * Stores a final report (a redelivered one replaces the stored one only when it is newer) and moves the
 * job's listed status to its end, since the report is the last word on it. Reports for an environment the
 * sending data plane does not serve are ignored (re-checked here, as the queue may hold old messages).
 */
export async function recordBatchReport(db: Kysely<Database>, message: BatchReportMessage): Promise<void> {
  const served = await db
    .selectFrom('environments')
    .select('id')
    .where('id', '=', message.environment_id)
    .where('data_plane_id', '=', message.data_plane_id)
    .executeTakeFirst();
  if (!served) return;
  const { data_plane_id: dataPlaneId, ...rest } = message;
  const report = BatchReportSchema.parse(rest);
  const at = new Date(report.at);
  await db.transaction().execute(async (trx) => {
    const values = {
      kind: report.kind,
      status: report.status,
      report: JSON.stringify(report),
      finished_at: new Date(report.finished_at),
      reported_at: at,
      data_plane_id: dataPlaneId,
    };
    await trx
      .insertInto('batch_reports')
      .values({ operation_id: report.operation_id, environment_id: report.environment_id, ...values })
      .onConflict((oc) =>
        oc.column('operation_id').doUpdateSet(values).where(sql<boolean>`batch_reports.reported_at <= ${at}`),
      )
      .execute();
    const job = {
      kind: report.kind,
      name: report.name ?? null,
      status: report.status,
      progress: report.status === 'SUCCEEDED' ? 1 : null,
      error: report.errors[0]?.message ?? null,
      reported_at: at,
    };
    await trx
      .insertInto('batch_jobs')
      .values({
        id: report.operation_id,
        environment_id: report.environment_id,
        data_plane_id: dataPlaneId,
        ...job,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet(job).where(sql<boolean>`batch_jobs.reported_at <= ${at}`),
      )
      .execute();
  });
}

/**
 * One job of an environment with its final report (shown FAILED when its data plane went quiet, see `viewOf`).
 *
 * @throws SlateError `JOB_NOT_FOUND` (kind `not_found`) when the environment has no such job.
 */
export async function getBatchJob(
  db: Kysely<Database>,
  environmentId: string,
  operationId: string,
  liveness?: Liveness,
): Promise<BatchJobDetail> {
  const row = await db
    .selectFrom('batch_jobs')
    .leftJoin('batch_reports', 'batch_reports.operation_id', 'batch_jobs.id')
    .select([
      'batch_jobs.id',
      'batch_jobs.environment_id',
      'batch_jobs.data_plane_id',
      'batch_jobs.kind',
      'batch_jobs.name',
      'batch_jobs.status',
      'batch_jobs.progress',
      'batch_jobs.error',
      'batch_jobs.created_at',
      'batch_jobs.reported_at',
      'batch_reports.report',
      'batch_reports.environment_id as report_environment_id',
    ])
    .where('batch_jobs.id', '=', operationId)
    .where('batch_jobs.environment_id', '=', environmentId)
    .executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'JOB_NOT_FOUND', `no job ${operationId} in ${environmentId}`);
  return {
    ...viewOf(row, liveness),
    report: row.report && row.report_environment_id === environmentId ? (row.report as BatchReport) : null,
  };
}
