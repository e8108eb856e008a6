import { useEffect, useMemo, useState } from 'react';
import type { Environment, Schedule, ScheduleFire } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import type { FireLane } from '../charts/schedule-fires.ts';
import { ScheduleFiresChart } from '../components/schedule-fires-chart.tsx';
import { SchedulesTable, scheduleKey } from '../components/schedules-table.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { plural } from '../format.ts';
import { useResource } from '../hooks/use-resource.ts';
import { canControlSchedules } from '../permissions.ts';

/** Schedules and their fires are re-read this often while the tab is open (a fire is due every second at most). */
const REFRESH_MS = 10_000;
/** Fires loaded per schedule for the chart. */
const FIRES_PER_SCHEDULE = 100;

/**
 * An environment's cron resolvers and scheduled queries: a chart of their recent fires by outcome, and a
 * table with each one's schedule, state, next and last fire, and Pause/Resume for people who may.
 */
export function SchedulesSection({ env }: { env: Environment }) {
  const api = useApi();
  const [schedules, reload] = useResource(
    async (signal) => {
      const { items } = await api.schedules(env.id, signal);
      const fires = await Promise.all(
        items.map(async (s) => {
          try {
            return (await api.scheduleFires(env.id, s, FIRES_PER_SCHEDULE, signal)).items;
          } catch (error) {
            if (signal.aborted) throw error;
            return [] as ScheduleFire[]; // one schedule's history failing should not hide the others
          }
        }),
      );
      return { items, fires };
    },
    [api, env.id],
  );
  const [me] = useResource((signal) => api.me(signal), [api]);
  const [overrides, setOverrides] = useState<ReadonlyMap<string, Schedule>>(new Map());
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  // A reload shows the server's view again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever a new list arrives
  useEffect(() => setOverrides(new Map()), [schedules]);

  const role = me.status === 'ready' ? me.data.teams.find((t) => t.id === env.team_id)?.role : undefined;
  const mayControl = canControlSchedules(role);

  const view = useMemo(() => {
    if (schedules.status !== 'ready') return null;
    const items = schedules.data.items.map((s) => overrides.get(scheduleKey(s)) ?? s);
    const lanes: FireLane[] = items.map((s, i) => ({
      key: scheduleKey(s),
      label: s.name,
      fires: schedules.data.fires[i] ?? [],
    }));
    const latest = new Map(lanes.flatMap((l) => (l.fires[0] ? [[l.key, l.fires[0]] as const] : [])));
    return { items, lanes, latest };
  }, [schedules, overrides]);

  const control = async (schedule: Schedule, action: 'pause' | 'resume') => {
    const key = scheduleKey(schedule);
    setBusy(key);
    setError(null);
    try {
      const updated = await api.controlSchedule(env.id, schedule, action);
      setOverrides((m) => new Map(m).set(key, updated));
    } catch (e) {
      setError(`Could not ${action} ${schedule.name}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };

  if (schedules.status === 'loading') return <Loading rows={5} />;
  if (schedules.status === 'error') return <ErrorState error={schedules.error} onRetry={reload} />;
  if (!view || view.items.length === 0) {
    return (
      <EmptyState title="No schedules">
        Resolvers with a <code>cron</code> and scheduled queries of the active deployment show here, with
        their next fire and how their runs went.
      </EmptyState>
    );
  }
  const paused = view.items.filter((s) => s.state === 'PAUSE').length;
  return (
    <div className="stack-lg">
      <section className="card card-pad" aria-label="Recent fires">
        <h3 className="card-title">Recent fires</h3>
        <p className="muted small">
          Each dot is a due time, coloured by how its run or query went · last {FIRES_PER_SCHEDULE} per
          schedule
        </p>
        <ScheduleFiresChart lanes={view.lanes} />
      </section>
      <section className="card" aria-label="Schedules">
        <div className="card-header">
          <h3 className="card-title">Schedules</h3>
          <span className="muted small">
            {plural(view.items.length, 'schedule')}
            {paused > 0 ? ` · ${paused} paused` : ''} · times in your time zone, crontabs in UTC
          </span>
        </div>
        {error && (
          <div className="form-error" role="alert">
            {error}
          </div>
        )}
        <SchedulesTable
          schedules={view.items}
          latest={view.latest}
          busy={busy}
          {...(mayControl ? { onControl: control } : {})}
        />
      </section>
    </div>
  );
}
