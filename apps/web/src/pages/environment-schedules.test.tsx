import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import {
  createHttpClient,
  createSlateApi,
  type Environment,
  type Schedule,
  type ScheduleFire,
} from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { formatDateTime } from '../format.ts';
import { createFakeServer, reply } from '../test-support/fake-server.ts';
import { SchedulesSection } from './environment-schedules.tsx';

const env: Environment = {
  id: 'env_1',
  name: 'production',
  project_id: 'p1',
  team_id: 't1',
  data_plane_id: 'dp1',
  active_deployment_id: 'dep1',
  created_at: '',
} as Environment;

const schedule = (kind: string, name: string, extra: Partial<Schedule> = {}): Schedule => ({
  environment_id: 'env_1',
  kind,
  name,
  schedule: kind === 'query' ? '0 3 * * *' : '1h',
  state: 'PLAY',
  deployment_id: 'dep1',
  next_fire_at: kind === 'query' ? '2026-03-02T03:00:00.000Z' : '2026-03-01T11:00:00.000Z',
  last_fired_at: '2026-03-01T10:00:00.000Z',
  updated_at: '2026-03-01T00:00:00.000Z',
  ...extra,
});

const fire = (
  due: string,
  delivery: string,
  status: string | null,
  error: string | null = null,
): ScheduleFire => ({
  key: `k:${due}`,
  due_at: due,
  delivery,
  attempts: 1,
  error,
  operation_id: status ? `op-${due}` : null,
  status,
  created_at: due,
});

/** The metadata plane's answers for a team member with `role`; pause/resume change the stored state. */
function setup(role: string, { failControl = false } = {}) {
  const schedules = [schedule('query', 'daily_risk'), schedule('resolver', 'user_directory')];
  const fires: Record<string, ScheduleFire[]> = {
    'resolver/user_directory': [
      fire('2026-03-01T10:00:00.000Z', 'accepted', 'CANCELED'),
      fire('2026-03-01T09:00:00.000Z', 'accepted', 'FAILED', 'SOURCE_TIMEOUT: the source timed out'),
      fire('2026-03-01T08:00:00.000Z', 'accepted', 'SUCCEEDED'),
      fire('2026-03-01T07:00:00.000Z', 'dead', null, 'no runner'),
    ],
    'query/daily_risk': [
      fire('2026-03-01T03:00:00.000Z', 'pending', null),
      fire('2026-02-28T03:00:00.000Z', 'accepted', 'SUCCEEDED'),
    ],
  };
  const server = createFakeServer({
    'GET /v1/me': () => ({
      user: { id: 'u1', email: 'a@example.com', name: 'A' },
      teams: [{ id: 't1', name: 'Acme', role }],
    }),
    'GET /v1/environments/:id/schedules': () => ({ items: schedules }),
    'GET /v1/environments/:id/schedules/:kind/:name/fires': (_req, p) => ({
      items: fires[`${p.kind}/${p.name}`] ?? [],
    }),
    'POST /v1/environments/:id/schedules/:kind/:name/:action': (_req, p) => {
      if (failControl)
        return reply(403, {
          detail: 'missing cron.create',
          message: 'missing cron.create',
          trace: null,
          code: 'FORBIDDEN',
        });
      const s = schedules.find((x) => x.kind === p.kind && x.name === p.name)!;
      const paused = p.action === 'pause';
      const updated = {
        ...s,
        state: paused ? 'PAUSE' : 'PLAY',
        next_fire_at: paused ? null : '2026-03-01T12:00:00.000Z',
      };
      schedules.splice(schedules.indexOf(s), 1, updated);
      return updated;
    },
  });
  render(
    <ApiProvider api={createSlateApi(createHttpClient({ fetch: server.fetch }))}>
      <SchedulesSection env={env} />
    </ApiProvider>,
  );
  return server;
}

const rowOf = (name: string) => screen.getByText(name).closest('tr')!;

describe('SchedulesSection', () => {
  it('lists each schedule with kind, schedule, state, next and last fire, and charts fires by outcome', async () => {
    setup('viewer');
    await screen.findByText('user_directory');
    const query = within(rowOf('daily_risk'));
    expect(query.getByText('Scheduled query')).toBeTruthy();
    expect(query.getByText('0 3 * * *')).toBeTruthy();
    expect(query.getByText('playing')).toBeTruthy();
    expect(query.getByText(formatDateTime('2026-03-02T03:00:00.000Z'))).toBeTruthy();
    expect(query.getByText('pending')).toBeTruthy(); // its newest fire waits for the data plane
    const resolver = within(rowOf('user_directory'));
    expect(resolver.getByText('Cron resolver')).toBeTruthy();
    expect(resolver.getByText('1h')).toBeTruthy();
    expect(resolver.getByText('canceled').className).toContain('badge-inactive');
    // Six fires: two succeeded; a failed run and an undelivered trigger failed; one pending; one canceled.
    const chart = screen.getByRole('img');
    expect(chart.getAttribute('aria-label')).toBe(
      '6 fires of 2 schedules: 2 succeeded, 2 failed, 1 in progress, 1 cancelled / other',
    );
    // A viewer may not pause schedules.
    expect(screen.queryByRole('button', { name: /Pause|Resume/ })).toBeNull();
  });

  it('pauses and resumes a schedule for a developer, showing the state the metadata plane answers', async () => {
    const server = setup('developer');
    fireEvent.click(await screen.findByRole('button', { name: 'Pause daily_risk' }));
    const resume = await screen.findByRole('button', { name: 'Resume daily_risk' });
    const paused = within(rowOf('daily_risk'));
    expect(paused.getByText('paused')).toBeTruthy();
    expect(paused.queryByText(formatDateTime('2026-03-02T03:00:00.000Z'))).toBeNull();
    fireEvent.click(resume);
    await screen.findByRole('button', { name: 'Pause daily_risk' });
    expect(within(rowOf('daily_risk')).getByText(formatDateTime('2026-03-01T12:00:00.000Z'))).toBeTruthy();
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([
      '/v1/environments/env_1/schedules/query/daily_risk/pause',
      '/v1/environments/env_1/schedules/query/daily_risk/resume',
    ]);
    // The other schedule was left alone.
    expect(within(rowOf('user_directory')).getByText('playing')).toBeTruthy();
  });

  it('says why a pause was refused and keeps the schedule as it was', async () => {
    setup('owner', { failControl: true });
    fireEvent.click(await screen.findByRole('button', { name: 'Pause user_directory' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /Could not pause user_directory: missing cron.create/,
    );
    await waitFor(() => expect(within(rowOf('user_directory')).getByText('playing')).toBeTruthy());
  });

  it('explains an environment without schedules', async () => {
    const server = createFakeServer({
      'GET /v1/me': () => ({ user: { id: 'u1', email: 'a@example.com', name: 'A' }, teams: [] }),
      'GET /v1/environments/:id/schedules': () => ({ items: [] }),
    });
    render(
      <ApiProvider api={createSlateApi(createHttpClient({ fetch: server.fetch }))}>
        <SchedulesSection env={env} />
      </ApiProvider>,
    );
    expect(await screen.findByText('No schedules')).toBeTruthy();
  });
});
