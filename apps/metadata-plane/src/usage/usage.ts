import { SlateError } from '@slate/graph';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';

/** A data plane's usage report: counters since its previous report, each stamped with when they happened. */
export const UsageReportSchema = z.object({
  /** Unique per report: a retried report (same id) is counted once. */
  report_id: z.string().min(8).max(100),
  entries: z
    .array(
      z.object({
        environment_id: z.string().min(1),
        /** Any instant inside the hour the counts belong to. */
        at: z.iso.datetime({ offset: true }),
        queries: z.number().int().nonnegative(),
        rows: z.number().int().nonnegative(),
        compute_seconds: z.number().nonnegative().finite(),
      }),
    )
    .max(10_000),
});
export type UsageReport = z.input<typeof UsageReportSchema>;

export const UsageQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
});

/** The UTC hour an instant falls in. */
export function hourOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
}

/**
 * Adds a report's counters to the hourly table. Idempotent by `report_id`; entries for environments not
 * served by the reporting data plane are ignored (returned in `ignored`).
 */
export async function recordUsage(
  db: Kysely<Database>,
  dataPlaneId: string,
  report: UsageReport,
): Promise<{ duplicate: boolean; recorded: number; ignored: string[] }> {
  const parsed = UsageReportSchema.parse(report);
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('usage_reports')
      .values({ id: parsed.report_id, data_plane_id: dataPlaneId })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { duplicate: true, recorded: 0, ignored: [] };
    const served = new Set(
      (
        await trx.selectFrom('environments').select('id').where('data_plane_id', '=', dataPlaneId).execute()
      ).map((e) => e.id),
    );
    const ignored: string[] = [];
    let recorded = 0;
    for (const e of parsed.entries) {
      if (!served.has(e.environment_id)) {
        ignored.push(e.environment_id);
        continue;
      }
      await trx
        .insertInto('usage_hourly')
        .values({
          environment_id: e.environment_id,
          hour: hourOf(new Date(e.at)),
          queries: e.queries,
          rows: e.rows,
          compute_seconds: e.compute_seconds,
        })
        .onConflict((oc) =>
          oc.columns(['environment_id', 'hour']).doUpdateSet({
            queries: sql`usage_hourly.queries + excluded.queries`,
            rows: sql`usage_hourly.rows + excluded.rows`,
            compute_seconds: sql`usage_hourly.compute_seconds + excluded.compute_seconds`,
          }),
        )
        .execute();
      recorded += 1;
    }
    return { duplicate: false, recorded, ignored };
  });
}

export interface UsageView {
  readonly environment_id: string;
  readonly from: string;
  readonly to: string;
  /** One entry per hour that had usage, oldest first (hours without usage are absent). */
  readonly hours: { hour: string; queries: number; rows: number; compute_seconds: number }[];
  readonly totals: { queries: number; rows: number; compute_seconds: number };
}

/**
 * Hourly usage of an environment for hours starting in [from, to).
 * @throws SlateError input `INVALID_RANGE` when `to` is not after `from` or the range exceeds 400 days.
 */
export async function getUsage(
  db: Kysely<Database>,
  environmentId: string,
  from: Date,
  to: Date,
): Promise<UsageView> {
  if (to.getTime() <= from.getTime() || to.getTime() - from.getTime() > 400 * 86_400_000) {
    throw new SlateError('input', 'INVALID_RANGE', 'to must be after from, and the range at most 400 days');
  }
  const rows = await db
    .selectFrom('usage_hourly')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('hour', '>=', hourOf(from))
    .where('hour', '<', to)
    .orderBy('hour')
    .execute();
  const hours = rows.map((r) => ({
    hour: r.hour.toISOString(),
    queries: Number(r.queries),
    rows: Number(r.rows),
    compute_seconds: r.compute_seconds,
  }));
  return {
    environment_id: environmentId,
    from: from.toISOString(),
    to: to.toISOString(),
    hours,
    totals: {
      queries: hours.reduce((n, h) => n + h.queries, 0),
      rows: hours.reduce((n, h) => n + h.rows, 0),
      compute_seconds: hours.reduce((n, h) => n + h.compute_seconds, 0),
    },
  };
}
