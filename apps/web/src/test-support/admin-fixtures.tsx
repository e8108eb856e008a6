import type { Role } from '@slate/client';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { createHttpClient, createSlateApi, type Me } from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { MeProvider } from '../me-context.tsx';
import { createFakeServer, type FakeServer, type Handler } from './fake-server.ts';

/**
 * Built-in roles as a test fixture, written out here rather than imported from the metadata plane: the
 * pages must follow what `GET /v1/teams/:id/roles` says, whatever it says.
 */
export const BUILT_IN_ROLES: Role[] = [
  {
    id: 'admin',
    name: 'admin',
    description: 'Everything',
    permissions: [
      'environment.create',
      'project.create',
      'secrets.list',
      'secrets.write',
      'team.add',
      'team.admin',
      'team.list',
      'tokens.list',
      'tokens.write',
    ],
    built_in: true,
    team_id: null,
  },
  {
    id: 'developer',
    name: 'developer',
    description: 'Deploy and query',
    permissions: ['deploy.read', 'secrets.list', 'team.list', 'tokens.list'],
    built_in: true,
    team_id: null,
  },
  {
    id: 'viewer',
    name: 'viewer',
    description: 'Read',
    permissions: ['deploy.read', 'team.list'],
    built_in: true,
    team_id: null,
  },
];

export const ENV = {
  id: 'env_1',
  name: 'production',
  project_id: 'p1',
  team_id: 't1',
  data_plane_id: null,
  active_deployment_id: null,
  created_at: '2026-01-01T00:00:00Z',
};

/** A signed-in user with `role` in team `t1`. */
export function meWith(role: string): Me {
  return {
    user: { id: 'u_me', email: 'me@acme.test', name: 'Me' },
    teams: [{ id: 't1', name: 'Acme', role }],
  };
}

/** The catalog every admin page reads, plus the team's roles; `routes` add or override. */
export function adminServer(routes: Record<string, Handler>, roles: Role[] = BUILT_IN_ROLES): FakeServer {
  return createFakeServer({
    'GET /v1/teams': () => ({ items: [{ id: 't1', name: 'Acme' }], next_cursor: null }),
    'GET /v1/projects': () => ({ items: [{ id: 'p1', name: 'fraud', team_id: 't1' }], next_cursor: null }),
    'GET /v1/environments': () => ({ items: [ENV], next_cursor: null }),
    'GET /v1/teams/:id/roles': () => ({ items: roles }),
    ...routes,
  });
}

/** Renders `ui` signed in as `me`, against `server`. */
export function renderSignedIn(ui: ReactNode, server: FakeServer, me: Me) {
  const api = createSlateApi(createHttpClient({ fetch: server.fetch }));
  return render(
    <ApiProvider api={api}>
      <MeProvider me={me}>{ui}</MeProvider>
    </ApiProvider>,
  );
}
