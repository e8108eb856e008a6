import type { Schedule, ScheduleFire } from '../api/index.ts';
import { fireOutcome } from '../charts/schedule-fires.ts';
import { formatDateTime } from '../format.ts';
import { RelativeTime } from './relative-time.tsx';
import { Pill } from './status-badge.tsx';

const kinds: Record<string, string> = { resolver: 'Cron resolver', query: 'Scheduled query' };
const outcomeTones = {
  success: 'success',
  failed: 'failed',
  progress: 'progress',
  inactive: 'neutral',
} as const;

/** A schedule's identity in lists and requests. */
export const scheduleKey = (s: { kind: string; name: string }) => `${s.kind}/${s.name}`;

/**
 * The environment's schedules: what fires, on which schedule, whether it plays, when it fires next and how
 * its latest fire went. `onControl` (absent for people who may not pause schedules) adds Pause/Resume.
 */
export function SchedulesTable({
  schedules,
  latest,
  busy,
  onControl,
}: {
  schedules: readonly Schedule[];
  /** The newest fire of each schedule (by `scheduleKey`), when loaded. */
  latest?: ReadonlyMap<string, ScheduleFire>;
  /** The schedule being paused or resumed. */
  busy?: string | null;
  onControl?: (schedule: Schedule, action: 'pause' | 'resume') => void;
}) {
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th>Schedule</th>
            <th>Runs</th>
            <th>State</th>
            <th>Next fire</th>
            <th>Last fire</th>
            {onControl && <th className="cell-action" aria-label="Pause or resume" />}
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => {
            const key = scheduleKey(s);
            const fire = latest?.get(key);
            const paused = s.state === 'PAUSE';
            return (
              <tr key={key}>
                <td>
                  <div className="mono">{s.name}</div>
                  <div className="muted small">{kinds[s.kind] ?? s.kind}</div>
                </td>
                <td>
                  <code>{s.schedule}</code>
                </td>
                <td>
                  <Pill tone={paused ? 'neutral' : 'success'}>{paused ? 'paused' : 'playing'}</Pill>
                </td>
                <td>
                  <span className="cell-label small">Next</span>
                  {s.next_fire_at ? (
                    <time dateTime={s.next_fire_at}>{formatDateTime(s.next_fire_at)}</time>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>
                  <span className="cell-label small">Last</span>
                  <RelativeTime iso={s.last_fired_at} />
                  {fire && (
                    <div className="small">
                      <Pill tone={outcomeTones[fireOutcome(fire)]}>
                        {(
                          fire.status ?? (fire.delivery === 'dead' ? 'not delivered' : 'pending')
                        ).toLowerCase()}
                      </Pill>
                    </div>
                  )}
                  {fire?.error && <div className="cell-error">{fire.error}</div>}
                </td>
                {onControl && (
                  <td className="cell-action">
                    <button
                      type="button"
                      className="button button-small"
                      disabled={busy === key}
                      title={
                        paused
                          ? 'Fires again from the next due time; the paused period is not replayed'
                          : 'Fires nothing until resumed'
                      }
                      aria-label={`${paused ? 'Resume' : 'Pause'} ${s.name}`}
                      onClick={() => onControl(s, paused ? 'resume' : 'pause')}
                    >
                      {busy === key ? '…' : paused ? 'Resume' : 'Pause'}
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
