import type { Invite, Member, Role } from '@slate/client';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { adminServer, BUILT_IN_ROLES, ENV, meWith, renderSignedIn } from '../test-support/admin-fixtures.tsx';
import { reply } from '../test-support/fake-server.ts';
import { TeamsPage } from './teams-page.tsx';

function catalogServer(role: string) {
  const projects = [{ id: 'p1', name: 'fraud', team_id: 't1' }];
  const environments = [{ ...ENV }];
  const members: Member[] = [
    { user_id: 'u_me', email: 'me@acme.test', name: 'Me', role, environment_roles: [] },
    {
      user_id: 'u_2',
      email: 'dev@acme.test',
      name: 'Dev',
      role: 'developer',
      environment_roles: [{ environment_id: 'env_1', role: 'admin' }],
    },
  ];
  const invites: Invite[] = [];
  const roles: Role[] = [...BUILT_IN_ROLES];
  const server = adminServer(
    {
      'GET /v1/projects': () => ({ items: projects, next_cursor: null }),
      'GET /v1/environments': () => ({ items: environments, next_cursor: null }),
      'POST /v1/projects': (req) => {
        const body = req.body as { name: string; team_id: string };
        const p = { id: 'p2', ...body };
        projects.push(p);
        return reply(201, p);
      },
      'PUT /v1/environments/:id': (req, p) => {
        const env = environments.find((e) => e.id === p.id)!;
        env.name = (req.body as { name: string }).name;
        return env;
      },
      'GET /v1/teams/:id/members': () => ({ items: members }),
      'PUT /v1/teams/:id/members/:userId/role': (req, p) => {
        members.find((m) => m.user_id === p.userId)!.role = (req.body as { role: string }).role;
        return { ok: true };
      },
      'GET /v1/teams/:id/invites': () => ({ items: invites }),
      'POST /v1/teams/:id/invites': (req) => {
        const body = req.body as { email: string; role: string };
        const invite = {
          id: 'inv_1',
          team_id: 't1',
          accepted_at: null,
          created_at: '2026-03-01T00:00:00Z',
          ...body,
        };
        invites.push(invite);
        return reply(201, invite);
      },
      'POST /v1/teams/:id/roles': (req) => {
        const body = req.body as { name: string; description: string; permissions: string[] };
        const created = { id: 'role_1', built_in: false, team_id: 't1', ...body };
        roles.push(created);
        return reply(201, created);
      },
    },
    roles,
  );
  return server;
}

describe('TeamsPage', () => {
  it('creates a project and renames an environment as an admin', async () => {
    const server = catalogServer('admin');
    renderSignedIn(<TeamsPage teamId="t1" tab="projects" />, server, meWith('admin'));
    fireEvent.click(await screen.findByRole('button', { name: 'New project' }));
    fireEvent.change(screen.getByLabelText('New project: name'), { target: { value: 'risk' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect(await screen.findByRole('region', { name: 'Project risk' })).toBeTruthy();
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({ name: 'risk', team_id: 't1' });

    fireEvent.click(screen.getByRole('button', { name: 'Rename environment production' }));
    fireEvent.change(screen.getByLabelText('New name of environment production'), {
      target: { value: ' live ' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByRole('link', { name: 'live' })).toBeTruthy();
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe('/v1/environments/env_1');
    expect(put.body).toEqual({ name: 'live' });
  });

  it('offers a viewer nothing to change', async () => {
    const server = catalogServer('viewer');
    renderSignedIn(<TeamsPage teamId="t1" tab="projects" />, server, meWith('viewer'));
    expect(await screen.findByRole('link', { name: 'production' })).toBeTruthy();
    await screen.findByText(/your role: viewer/);
    expect(screen.queryByRole('button', { name: /Rename|New/ })).toBeNull();
  });

  it('invites a member with a role and changes a member’s role', async () => {
    const server = catalogServer('admin');
    renderSignedIn(<TeamsPage teamId="t1" tab="members" />, server, meWith('admin'));
    const form = await screen.findByRole('form', { name: 'Invite a member' });
    fireEvent.change(within(form).getByLabelText('Email'), { target: { value: 'new@acme.test' } });
    fireEvent.change(within(form).getByLabelText('Role'), { target: { value: 'viewer' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Invite' }));
    const invites = await screen.findByRole('region', { name: 'Invites' });
    await within(invites).findByText('new@acme.test');
    expect(within(invites).getByText('Pending')).toBeTruthy();
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      email: 'new@acme.test',
      role: 'viewer',
    });

    // The environment role shows by name; the signed-in user cannot demote themselves here.
    expect(screen.getByText('production: admin')).toBeTruthy();
    expect(screen.queryByLabelText('Role of me@acme.test')).toBeNull();
    fireEvent.change(screen.getByLabelText('Role of dev@acme.test'), { target: { value: 'viewer' } });
    await waitFor(() =>
      expect(server.requests.find((r) => r.method === 'PUT')?.path).toBe('/v1/teams/t1/members/u_2/role'),
    );
    expect(server.requests.find((r) => r.method === 'PUT')?.body).toEqual({ role: 'viewer' });
  });

  it('creates a custom role only from permissions the admin holds', async () => {
    const server = catalogServer('developer');
    // A developer has no team.admin: no form at all.
    const view = renderSignedIn(<TeamsPage teamId="t1" tab="roles" />, server, meWith('developer'));
    await screen.findByText('developer', { selector: '.strong' });
    expect(screen.queryByRole('button', { name: 'New custom role' })).toBeNull();
    view.unmount();

    const admin = catalogServer('admin');
    renderSignedIn(<TeamsPage teamId="t1" tab="roles" />, admin, meWith('admin'));
    fireEvent.click(await screen.findByRole('button', { name: 'New custom role' }));
    const form = screen.getByRole('form', { name: 'New custom role' });
    fireEvent.change(within(form).getByLabelText('Name'), { target: { value: 'ML scientist' } });
    // deploy.read is a developer's permission the admin fixture does not hold: offered, but disabled.
    expect((within(form).getByRole('checkbox', { name: 'deploy.read' }) as HTMLInputElement).disabled).toBe(
      true,
    );
    fireEvent.click(within(form).getByRole('checkbox', { name: 'secrets.list' }));
    fireEvent.click(within(form).getByRole('checkbox', { name: 'tokens.list' }));
    fireEvent.click(within(form).getByRole('button', { name: 'Create role' }));
    expect(await screen.findByText('ML scientist')).toBeTruthy();
    expect(admin.requests.find((r) => r.method === 'POST')?.body).toEqual({
      name: 'ML scientist',
      description: '',
      permissions: ['secrets.list', 'tokens.list'],
    });
  });
});
