import { describe, expect, it } from 'vitest';
import type { RevisionRecord } from '../offline/offline-query-service.ts';
import type { RunRecord } from '../runs/run-record.ts';
import {
  type BatchReport,
  type BatchStatusReport,
  createBatchStatusReporter,
} from './batch-status-reporter.ts';

const revision = (status: RevisionRecord['status']): RevisionRecord => ({
  revision_id: 'rev-1',
  dataset_id: 'dataset-train',
  dataset_name: 'train',
  environment_id: 'dev',
  creator_id: 'tok',
  deployment_id: 'cdep1',
  status,
  outputs: ['user.name'],
  created_at: '2026-01-01T00:00:00.000Z',
  started_at: status === 'QUEUED' ? null : '2026-01-01T00:00:01.000Z',
  terminated_at: status === 'COMPLETED' || status === 'FAILED' ? '2026-01-01T00:00:03.500Z' : null,
  heartbeat_at: '2026-01-01T00:00:01.000Z',
  errors: status === 'FAILED' ? [{ code: 'HEARTBEAT_LOST', category: 'REQUEST', message: 'lost' }] : [],
  num_partitions: status === 'COMPLETED' ? 1 : 0,
  output_keys: status === 'COMPLETED' ? ['offline-queries/dev/revisions/rev-1/part-0.parquet'] : [],
  num_bytes: status === 'COMPLETED' ? 1234 : 0,
  num_rows: status === 'COMPLETED' ? 42 : 0,
  columns: [
    { feature_fqn: 'user.id', column_name: 'user.id', dtype: 'int' },
    { feature_fqn: 'user.name', column_name: 'user.name', dtype: 'string' },
  ],
  attempt: 2,
});

const at = new Date('2026-01-01T00:00:05.000Z');

describe('batch status reporter', () => {
  it('sends status updates in order and one final report per finished revision, after its statuses', async () => {
    const sent: (BatchStatusReport | BatchReport)[] = [];
    const reporter = createBatchStatusReporter({ now: () => at, retryDelaysMs: [0] });
    reporter.revision(revision('QUEUED')); // before registration: waits
    reporter.bind({
      status: async (report) => {
        sent.push(report);
      },
      report: async (report) => {
        sent.push(report);
      },
    });
    reporter.revision(revision('WORKING'));
    reporter.revision(revision('COMPLETED'));
    await reporter.flush();
    expect(sent.map((r) => ('finished_at' in r ? `report:${r.status}` : r.status))).toEqual([
      'QUEUED',
      'RUNNING',
      'SUCCEEDED',
      'report:SUCCEEDED',
    ]);
    expect(sent[3]).toEqual({
      operation_id: 'rev-1',
      environment_id: 'dev',
      kind: 'OFFLINE_QUERY',
      name: 'train',
      status: 'SUCCEEDED',
      deployment_id: 'cdep1',
      started_at: '2026-01-01T00:00:01.000Z',
      finished_at: '2026-01-01T00:00:03.500Z',
      duration_ms: 2_500,
      rows: 42,
      columns: [
        { name: 'user.id', dtype: 'int' },
        { name: 'user.name', dtype: 'string' },
      ],
      bytes_written: 1234,
      output: {
        bucket: 'dataset',
        keys: ['offline-queries/dev/revisions/rev-1/part-0.parquet'],
        dataset_id: 'dataset-train',
        dataset_name: 'train',
        revision_id: 'rev-1',
      },
      errors: [],
      attempts: 2,
      at: at.toISOString(),
    });
  });

  it('retries a final report the metadata plane could not take, but drops a failed status update', async () => {
    const reports: BatchReport[] = [];
    let statusCalls = 0;
    let refusals = 2;
    const reporter = createBatchStatusReporter({ now: () => at, retryDelaysMs: [0, 0, 0] });
    reporter.bind({
      status: async () => {
        statusCalls++;
        throw new Error('metadata plane down');
      },
      report: async (report) => {
        if (refusals-- > 0) throw new Error('metadata plane down');
        reports.push(report);
      },
    });
    reporter.revision(revision('FAILED'));
    await reporter.flush();
    expect(statusCalls).toBe(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      status: 'FAILED',
      output: null,
      errors: [{ code: 'HEARTBEAT_LOST', message: 'lost' }],
    });
  });

  it('reports a finished run: rows read, no files, the error code from its message', async () => {
    const reports: BatchReport[] = [];
    const reporter = createBatchStatusReporter({ now: () => at });
    reporter.bind({ status: async () => {}, report: async (r) => void reports.push(r) });
    const run = {
      id: 'run-1',
      environment: 'dev',
      resolver_fqn: 'fraud.get_users',
      deployment_id: 'cdep1',
      trigger: 'MANUAL',
      status: 'failed',
      lower_bound: null,
      upper_bound: null,
      max_samples: null,
      idempotency_key: null,
      store_online: false,
      store_offline: true,
      created_at: '2026-01-01T00:00:00.000Z',
      started_at: '2026-01-01T00:00:00.500Z',
      finished_at: '2026-01-01T00:00:02.000Z',
      rows: 7,
      values: 14,
      high_water_from: null,
      high_water_to: null,
      error: 'SOURCE_TIMEOUT: the data source timed out',
    } as RunRecord;
    reporter.run({ ...run, status: 'running', finished_at: null, error: null });
    reporter.run(run);
    await reporter.flush();
    expect(reports).toEqual([
      expect.objectContaining({
        operation_id: 'run-1',
        kind: 'RUN',
        name: 'fraud.get_users',
        status: 'FAILED',
        duration_ms: 1_500,
        rows: 7,
        bytes_written: null,
        output: null,
        errors: [{ code: 'SOURCE_TIMEOUT', message: 'SOURCE_TIMEOUT: the data source timed out' }],
      }),
    ]);
  });

  it('reports a canceled run as CANCELED, in its status updates and its final report', async () => {
    const statuses: BatchStatusReport[] = [];
    const reports: BatchReport[] = [];
    const reporter = createBatchStatusReporter({ now: () => at });
    reporter.bind({ status: async (r) => void statuses.push(r), report: async (r) => void reports.push(r) });
    const run = {
      id: 'run-2',
      environment: 'dev',
      resolver_fqn: 'fraud.get_users',
      deployment_id: 'cdep1',
      trigger: 'MANUAL',
      status: 'canceled',
      lower_bound: null,
      upper_bound: null,
      max_samples: null,
      idempotency_key: null,
      store_online: false,
      store_offline: true,
      created_at: '2026-01-01T00:00:00.000Z',
      started_at: '2026-01-01T00:00:01.000Z',
      finished_at: '2026-01-01T00:00:04.000Z',
      rows: 3,
      values: 6,
      high_water_from: null,
      high_water_to: null,
      error: null,
    } as RunRecord;
    reporter.run({ ...run, status: 'running', finished_at: null });
    reporter.run(run);
    await reporter.flush();
    expect(statuses.map((s) => [s.status, s.progress])).toEqual([
      ['RUNNING', null],
      ['CANCELED', null],
    ]);
    expect(reports).toEqual([
      expect.objectContaining({
        operation_id: 'run-2',
        status: 'CANCELED',
        duration_ms: 3_000,
        rows: 3,
        errors: [{ code: 'RUN_CANCELED', message: 'the run was canceled' }],
      }),
    ]);
  });
});
