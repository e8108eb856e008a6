import { Fragment, useState } from 'react';
import type { BatchJob, BatchJobDetail, BatchReport } from '../api/index.ts';
import { plural } from '../format.ts';
import { useResource } from '../hooks/use-resource.ts';
import { batchStatusFinished } from '../status.ts';
import { RelativeTime } from './relative-time.tsx';
import { Pill } from './status-badge.tsx';

const tones: Record<string, 'neutral' | 'success' | 'failed' | 'progress'> = {
  QUEUED: 'neutral',
  RUNNING: 'progress',
  SUCCEEDED: 'success',
  FAILED: 'failed',
  CANCELED: 'neutral',
};
const kinds: Record<string, string> = { OFFLINE_QUERY: 'Offline query', RUN: 'Resolver run' };
const finished = (job: BatchJob) => batchStatusFinished(job.status);

/**
 * Offline queries and resolver runs with their latest status, as data planes report them. A finished job
 * opens its final report (loaded with `loadDetail` when opened).
 */
export function JobsTable({
  jobs,
  loadDetail,
}: {
  jobs: readonly BatchJob[];
  loadDetail?: (operationId: string, signal: AbortSignal) => Promise<BatchJobDetail>;
}) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th>Status</th>
            <th>Job</th>
            <th className="hide-sm">Progress</th>
            <th>Updated</th>
            {loadDetail && <th className="cell-action" aria-label="Report" />}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <Fragment key={job.id}>
              <tr>
                <td>
                  <Pill tone={tones[job.status] ?? 'neutral'}>{job.status.toLowerCase()}</Pill>
                </td>
                <td>
                  <div>{job.name ?? job.id}</div>
                  <div className="muted small">
                    {kinds[job.kind] ?? job.kind} · <span className="mono">{job.id}</span>
                  </div>
                  {job.error && <div className="cell-error">{job.error}</div>}
                </td>
                <td className="hide-sm">
                  {job.progress == null ? '—' : `${Math.round(job.progress * 100)}%`}
                </td>
                <td>
                  <RelativeTime iso={job.updated_at} />
                </td>
                {loadDetail && (
                  <td className="cell-action">
                    {finished(job) && (
                      <button
                        type="button"
                        className="button button-ghost button-small"
                        aria-expanded={open === job.id}
                        onClick={() => setOpen(open === job.id ? null : job.id)}
                      >
                        {open === job.id ? 'Hide report' : 'Report'}
                      </button>
                    )}
                  </td>
                )}
              </tr>
              {loadDetail && open === job.id && (
                <tr>
                  <td colSpan={5}>
                    <JobReport operationId={job.id} load={loadDetail} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobReport({
  operationId,
  load,
}: {
  operationId: string;
  load: (operationId: string, signal: AbortSignal) => Promise<BatchJobDetail>;
}) {
  const [detail] = useResource((signal) => load(operationId, signal), [operationId, load]);
  if (detail.status === 'loading') return <div className="muted small">Loading the report…</div>;
  if (detail.status === 'error') return <div className="cell-error">The report could not be loaded.</div>;
  if (!detail.data.report)
    return <div className="muted small">The data plane has not sent this job’s final report yet.</div>;
  return <ReportFields report={detail.data.report} />;
}

/** The final report of a job: what it produced, where, how long it took and what went wrong. */
export function ReportFields({ report }: { report: BatchReport }) {
  return (
    <dl className="secret-fields" aria-label="Final report">
      <dt>Rows</dt>
      <dd>{report.rows.toLocaleString()}</dd>
      <dt>Duration</dt>
      <dd>{formatDuration(report.duration_ms)}</dd>
      {report.bytes_written !== null && report.bytes_written !== undefined && (
        <>
          <dt>Written</dt>
          <dd>{formatBytes(report.bytes_written)}</dd>
        </>
      )}
      {report.columns.length > 0 && (
        <>
          <dt>Columns</dt>
          <dd className="mono small">{report.columns.map((c) => `${c.name}: ${c.dtype}`).join(', ')}</dd>
        </>
      )}
      {report.output && (
        <>
          <dt>Output</dt>
          <dd className="mono small">
            {report.output.dataset_name ?? report.output.dataset_id} · revision {report.output.revision_id} ·{' '}
            {plural(report.output.keys.length, 'file')} in the {report.output.bucket} bucket
          </dd>
        </>
      )}
      {report.attempts > 1 && (
        <>
          <dt>Attempts</dt>
          <dd>{report.attempts} (re-run after its data plane stopped)</dd>
        </>
      )}
      {report.errors.length > 0 && (
        <>
          <dt>Errors</dt>
          <dd>
            <div>
              {report.errors.map((e, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: errors are a fixed list without ids
                <div key={i} className="cell-error">
                  {e.code}
                  {e.feature ? ` (${e.feature})` : ''}: {e.message}
                </div>
              ))}
            </div>
          </dd>
        </>
      )}
    </dl>
  );
}

/** `1.5 s`, `2 min 5 s`, `120 ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1_000;
  if (seconds < 60) return `${Number(seconds.toFixed(1))} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** `512 B`, `2.0 kB`, `3.4 MB` (powers of 1,000). */
export function formatBytes(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1_000 && unit < units.length - 1) {
    value /= 1_000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
