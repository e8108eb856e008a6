import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createHttpClient, createSlateApi } from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { createFakeServer } from '../test-support/fake-server.ts';
import { EnvironmentsPage } from './environments-page.tsx';

const now = Date.now();
const iso = (agoMs: number) => new Date(now - agoMs).toISOString();

describe('EnvironmentsPage: data planes', () => {
  it("lists each data plane's instances with their own health, roles, version and what they serve", async () => {
    const server = createFakeServer({
      'GET /v1/teams': () => ({ items: [{ id: 't1', name: 'Acme' }], next_cursor: null }),
      'GET /v1/projects': () => ({ items: [{ id: 'p1', name: 'fraud', team_id: 't1' }], next_cursor: null }),
      'GET /v1/environments': () => ({
        items: [
          {
            id: 'env_prod',
            name: 'production',
            project_id: 'p1',
            team_id: 't1',
            data_plane_id: 'dp_east',
            active_deployment_id: 'cdep1',
            created_at: '',
          },
        ],
        next_cursor: null,
      }),
      'GET /v1/deployments': () => ({ items: [], next_cursor: null }),
      'GET /v1/data-planes': () => ({
        items: [
          {
            id: 'dp_east',
            name: 'east',
            url: 'https://east.test',
            last_heartbeat_at: iso(2_000),
            healthy: true,
            instances: [
              {
                instance_id: 'east-query-7f9c',
                url: 'https://east.test',
                roles: ['query'],
                version: '1.4.0',
                last_heartbeat_at: iso(2_000),
                healthy: true,
                deployments: { env_prod: 'cdep1' },
                registered_at: iso(60_000),
              },
              {
                instance_id: 'east-jobs-0',
                url: 'https://east.test',
                roles: ['jobs', 'streaming'],
                version: null,
                last_heartbeat_at: iso(300_000),
                healthy: false,
                deployments: {},
                registered_at: iso(600_000),
              },
            ],
          },
        ],
        next_cursor: null,
      }),
    });
    render(
      <ApiProvider api={createSlateApi(createHttpClient({ fetch: server.fetch }))}>
        <EnvironmentsPage />
      </ApiProvider>,
    );
    const query = await screen.findByRole('row', { name: /Instance east-query-7f9c/ });
    expect(within(query).getByText('Healthy')).toBeTruthy();
    expect(query.textContent).toContain('query · v1.4.0');
    expect(query.textContent).toContain('→ cdep1');
    const jobs = screen.getByRole('row', { name: /Instance east-jobs-0/ });
    expect(within(jobs).getByText('Unhealthy')).toBeTruthy();
    expect(jobs.textContent).toContain('jobs, streaming');
    expect(jobs.textContent).toContain('no status reported yet');
  });
});
