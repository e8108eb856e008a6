import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { decodeCursor, type Page, type PageQuery, toPage } from '../pagination.ts';

/** One audited action (Chalk's audit log: who, what, on what, from where, outcome, trace id). */
export interface AuditEntry {
  readonly principal: string;
  readonly action: string;
  readonly target: string | null;
  readonly ip: string | null;
  /** `success`, or `failure:<http status>`. */
  readonly outcome: string;
  readonly traceId: string | null;
  /** The team whose log it belongs to; null for installation-wide events (registrations, sign-in attempts). */
  readonly teamId: string | null;
}

export async function recordAudit(db: Kysely<Database>, entry: AuditEntry, at: Date): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at,
      principal: entry.principal,
      action: entry.action,
      target: entry.target,
      ip: entry.ip,
      outcome: entry.outcome,
      trace_id: entry.traceId,
      team_id: entry.teamId,
    })
    .execute();
}

export interface AuditView {
  readonly id: string;
  readonly at: string;
  readonly principal: string;
  readonly action: string;
  readonly target: string | null;
  readonly ip: string | null;
  readonly outcome: string;
  readonly trace_id: string | null;
  readonly team_id: string | null;
}

/** Filters of `GET /v1/audit-log` (all optional, combined with AND). */
export const AuditFilterSchema = z.object({
  /** Exact action, or a prefix ending in `.*` (`tokens.*`). */
  action: z.string().min(1).max(200).optional(),
  /** `user:<id>`, `token:<id>`, `data_plane:<id>` or `anonymous`. */
  principal: z.string().min(1).max(200).optional(),
  target: z.string().min(1).max(500).optional(),
  /** `success`, `failure` (any failure) or an exact `failure:<status>`. */
  outcome: z
    .string()
    .regex(/^(success|failure|failure:\d{3})$/)
    .optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  trace_id: z.string().min(1).max(200).optional(),
  /** One of the caller's administered teams (default: all of them). */
  team_id: z.string().min(1).optional(),
});
export type AuditFilter = z.output<typeof AuditFilterSchema>;

/**
 * Newest first, filtered, limited to `teams` (the caller's administered teams) plus installation-wide
 * entries (no team: data-plane registrations, sign-in attempts), which every team admin may see.
 */
export async function listAudit(
  db: Kysely<Database>,
  page: PageQuery,
  filter: AuditFilter,
  teams: readonly string[],
): Promise<Page<AuditView>> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.team_id) q = q.where('team_id', '=', filter.team_id);
  else if (teams.length > 0)
    q = q.where((eb) => eb.or([eb('team_id', 'in', teams), eb('team_id', 'is', null)]));
  else q = q.where('team_id', 'is', null);
  if (filter.action?.endsWith('.*'))
    q = q.where('action', 'like', `${escapeLike(filter.action.slice(0, -1))}%`);
  else if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.principal) q = q.where('principal', '=', filter.principal);
  if (filter.target) q = q.where('target', '=', filter.target);
  if (filter.outcome === 'failure') q = q.where('outcome', 'like', 'failure:%');
  else if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
  if (filter.from) q = q.where('at', '>=', new Date(filter.from));
  if (filter.to) q = q.where('at', '<', new Date(filter.to));
  if (filter.trace_id) q = q.where('trace_id', '=', filter.trace_id);
  if (page.cursor) q = q.where('id', '<', decodeCursor(page.cursor));
  const rows = await q
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(
    rows,
    page.limit,
    (r) => r.id,
    (r) => ({
      id: r.id,
      at: r.at.toISOString(),
      principal: r.principal,
      action: r.action,
      target: r.target,
      ip: r.ip,
      outcome: r.outcome,
      trace_id: r.trace_id,
      team_id: r.team_id,
    }),
  );
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
