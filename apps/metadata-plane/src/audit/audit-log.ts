import type { Kysely } from 'kysely';
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
}

/** Newest first. */
export async function listAudit(db: Kysely<Database>, page: PageQuery): Promise<Page<AuditView>> {
  let q = db.selectFrom('audit_log').selectAll();
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
    }),
  );
}
