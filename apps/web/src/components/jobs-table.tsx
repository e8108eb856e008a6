import type { BatchJob } from '../api/index.ts';
import { RelativeTime } from './relative-time.tsx';
import { Pill } from './status-badge.tsx';

const tones: Record<string, 'neutral' | 'success' | 'failed' | 'progress'> = {
  QUEUED: 'neutral',
  RUNNING: 'progress',
  SUCCEEDED: 'success',
  FAILED: 'failed',
};
const kinds: Record<string, string> = { OFFLINE_QUERY: 'Offline query', RUN: 'Resolver run' };

/** Offline queries and resolver runs with their latest status, as data planes report them. */
export function JobsTable({ jobs }: { jobs: readonly BatchJob[] }) {
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th>Status</th>
            <th>Job</th>
            <th className="hide-sm">Progress</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
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
                {job.progress === null ? '—' : `${Math.round(job.progress * 100)}%`}
              </td>
              <td>
                <RelativeTime iso={job.updated_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
