import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { BatchJob, BatchJobDetail } from '../api/index.ts';
import { formatBytes, formatDuration, JobsTable } from './jobs-table.tsx';

const job = (id: string, status: string, extra: Partial<BatchJob> = {}): BatchJob => ({
  id,
  environment_id: 'dev',
  kind: 'OFFLINE_QUERY',
  name: `set ${id}`,
  status,
  progress: status === 'SUCCEEDED' ? 1 : null,
  error: null,
  created_at: '2026-03-01T10:00:00Z',
  updated_at: '2026-03-01T10:00:05Z',
  ...extra,
});

describe('JobsTable', () => {
  it('opens the final report of a finished job: rows, duration, bytes, columns, output and errors', async () => {
    const jobs = [job('r1', 'RUNNING'), job('r2', 'FAILED', { error: 'lost' })];
    const load = vi.fn(
      async (id: string): Promise<BatchJobDetail> => ({
        ...jobs[1]!,
        id,
        report: {
          operation_id: id,
          kind: 'OFFLINE_QUERY',
          status: 'FAILED',
          finished_at: '2026-03-01T10:00:05Z',
          duration_ms: 2_500,
          rows: 1_234,
          columns: [{ name: 'user.id', dtype: 'int' }],
          bytes_written: 2_048,
          output: {
            bucket: 'dataset',
            keys: ['a.parquet'],
            dataset_id: 'dataset-x',
            dataset_name: 'x',
            revision_id: id,
          },
          errors: [{ code: 'HEARTBEAT_LOST', message: 'the job stopped heart-beating' }],
          attempts: 3,
        },
      }),
    );
    render(<JobsTable jobs={jobs} loadDetail={load} />);
    const rows = screen.getAllByRole('row').slice(1);
    expect(within(rows[0]!).queryByRole('button', { name: 'Report' })).toBeNull(); // still running
    fireEvent.click(within(rows[1]!).getByRole('button', { name: 'Report' }));
    const report = await screen.findByLabelText('Final report');
    expect(load).toHaveBeenCalledWith('r2', expect.any(AbortSignal));
    expect(within(report).getByText('1,234')).toBeTruthy();
    expect(within(report).getByText('2.5 s')).toBeTruthy();
    expect(within(report).getByText('2.0 kB')).toBeTruthy();
    expect(within(report).getByText('user.id: int')).toBeTruthy();
    expect(within(report).getByText(/revision r2 · 1 file in the dataset bucket/)).toBeTruthy();
    expect(within(report).getByText(/HEARTBEAT_LOST: the job stopped heart-beating/)).toBeTruthy();
    expect(within(report).getByText(/3 \(re-run/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Hide report' }));
    expect(screen.queryByLabelText('Final report')).toBeNull();
  });

  it('says when the report has not arrived yet', async () => {
    const done = job('r3', 'SUCCEEDED');
    render(<JobsTable jobs={[done]} loadDetail={async () => ({ ...done, report: null })} />);
    fireEvent.click(screen.getByRole('button', { name: 'Report' }));
    expect(await screen.findByText(/has not sent this job’s final report yet/)).toBeTruthy();
  });

  it('shows a canceled run as canceled (grey, not failed) and opens its report', async () => {
    const canceled = job('run-9', 'CANCELED', { kind: 'RUN', error: 'the run was canceled' });
    render(<JobsTable jobs={[canceled]} loadDetail={async () => ({ ...canceled, report: null })} />);
    const pill = screen.getByText('canceled');
    expect(pill.className).toContain('badge-inactive');
    expect(screen.queryByText('failed')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Report' }));
    expect(await screen.findByText(/has not sent this job’s final report yet/)).toBeTruthy();
  });

  it('formats durations and sizes', () => {
    expect([120, 1_500, 125_000].map(formatDuration)).toEqual(['120 ms', '1.5 s', '2 min 5 s']);
    expect([512, 2_048, 3_400_000].map(formatBytes)).toEqual(['512 B', '2.0 kB', '3.4 MB']);
  });
});
