import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type MetadataDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { BatchStatusSchema, listBatchJobs, recordBatchStatus } from './batch-jobs.ts';
import { BatchReportSchema, getBatchJob, recordBatchReport } from './batch-reports.ts';

let database: MetadataDatabase;
const t = (s: number) => new Date(Date.UTC(2026, 0, 3, 0, 0, s)).toISOString();

beforeAll(async () => {
  database = await createDatabase({ type: 'pglite' });
  await migrateToLatest(database.db);
  const { db } = database;
  await db.insertInto('teams').values({ id: 'acme', name: 'Acme' }).execute();
  await db.insertInto('projects').values({ id: 'fraud', name: 'Fraud', team_id: 'acme' }).execute();
  await db
    .insertInto('data_planes')
    .values({ id: 'dp1', name: 'dp1', url: 'http://127.0.0.1:1', token_hash: 'x' })
    .execute();
  await db
    .insertInto('environments')
    .values({ id: 'dev', name: 'Dev', project_id: 'fraud', team_id: 'acme', data_plane_id: 'dp1' })
    .execute();
});
afterAll(() => database?.close());

describe('batch jobs: a canceled run', () => {
  const run = { environment_id: 'dev', kind: 'RUN' as const, name: 'fraud.get_users', data_plane_id: 'dp1' };

  it('is recorded and listed CANCELED from its status update, and stays so when its data plane goes quiet', async () => {
    await recordBatchStatus(database.db, { ...run, operation_id: 'run-c1', status: 'RUNNING', at: t(1) });
    await recordBatchStatus(database.db, { ...run, operation_id: 'run-c1', status: 'CANCELED', at: t(2) });
    // A late RUNNING update does not move it back.
    await recordBatchStatus(database.db, { ...run, operation_id: 'run-c1', status: 'RUNNING', at: t(1) });
    const stored = await database.db
      .selectFrom('batch_jobs')
      .select('status')
      .where('id', '=', 'run-c1')
      .executeTakeFirstOrThrow();
    expect(stored.status).toBe('CANCELED');
    // Long after the last report: only QUEUED and RUNNING jobs count as lost.
    const liveness = { now: new Date(Date.UTC(2026, 0, 4)), staleAfterMs: 60_000 };
    const page = await listBatchJobs(database.db, 'dev', { limit: 50 }, liveness);
    expect(page.items.find((j) => j.id === 'run-c1')).toMatchObject({ status: 'CANCELED', error: null });
  });

  it('takes a CANCELED final report and shows the job CANCELED with it', async () => {
    const report = BatchReportSchema.parse({
      operation_id: 'run-c2',
      environment_id: 'dev',
      kind: 'RUN',
      name: 'fraud.get_users',
      status: 'CANCELED',
      started_at: t(1),
      finished_at: t(4),
      duration_ms: 3_000,
      rows: 3,
      errors: [{ code: 'RUN_CANCELED', message: 'the run was canceled' }],
      at: t(4),
    });
    await recordBatchStatus(database.db, { ...run, operation_id: 'run-c2', status: 'RUNNING', at: t(2) });
    await recordBatchReport(database.db, { ...report, data_plane_id: 'dp1' });
    const job = await getBatchJob(database.db, 'dev', 'run-c2');
    expect(job).toMatchObject({ status: 'CANCELED', progress: null, error: 'the run was canceled' });
    expect(job.report).toMatchObject({ status: 'CANCELED', rows: 3, duration_ms: 3_000 });
  });

  it('refuses statuses outside the vocabulary, and a final report that has not ended', () => {
    const base = { ...run, operation_id: 'run-c3', at: t(1) };
    expect(BatchStatusSchema.safeParse({ ...base, status: 'CANCELED' }).success).toBe(true);
    expect(BatchStatusSchema.safeParse({ ...base, status: 'CANCELLED' }).success).toBe(false);
    const report = { ...base, finished_at: t(2), duration_ms: 1, rows: 0 };
    expect(BatchReportSchema.safeParse({ ...report, status: 'CANCELED' }).success).toBe(true);
    expect(BatchReportSchema.safeParse({ ...report, status: 'RUNNING' }).success).toBe(false);
  });

  it('keeps a final report whose error message is over 4,000 characters, with the message cut', async () => {
    const long = `OperationalError: ${'x'.repeat(9_000)}`;
    const report = BatchReportSchema.parse({
      operation_id: 'run-c4',
      environment_id: 'dev',
      kind: 'RUN',
      status: 'FAILED',
      finished_at: t(4),
      duration_ms: 10,
      rows: 0,
      errors: [{ code: 'RESOLVER_FAILED', message: long }],
      at: t(4),
    });
    await recordBatchStatus(database.db, { ...run, operation_id: 'run-c4', status: 'RUNNING', at: t(2) });
    await recordBatchReport(database.db, { ...report, data_plane_id: 'dp1' });
    const job = await getBatchJob(database.db, 'dev', 'run-c4');
    expect(job.status).toBe('FAILED');
    const message = job.report?.errors[0]?.message ?? '';
    expect(message).toHaveLength(4_000);
    expect(message.startsWith(long.slice(0, 3_900))).toBe(true);
  });
});
