import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createHttpClient, createSlateApi } from './api/index.ts';
import { App } from './app.tsx';
import { createFakeServer, reply } from './test-support/fake-server.ts';

describe('App', () => {
  it('shows the login page without a session, signs in, then lists environments', async () => {
    let session = false;
    const server = createFakeServer({
      'GET /v1/me': () =>
        session
          ? {
              user: { id: 'u1', email: 'owner@example.com', name: 'Owner' },
              teams: [{ id: 't1', name: 'Acme', role: 'owner' }],
            }
          : reply(401, { detail: 'sign in', message: 'sign in', trace: null, code: 'UNAUTHENTICATED' }),
      'POST /v1/auth/local-login': (req) => {
        if ((req.body as { email: string }).email !== 'owner@example.com') {
          return reply(401, {
            detail: 'not a member',
            message: 'not a member',
            trace: null,
            code: 'UNKNOWN_EMAIL',
          });
        }
        session = true;
        return { user: { id: 'u1' } };
      },
      'GET /v1/teams': () => ({ items: [{ id: 't1', name: 'Acme' }], next_cursor: null }),
      'GET /v1/projects': () => ({
        items: [{ id: 'p1', name: 'fraud-detection', team_id: 't1' }],
        next_cursor: null,
      }),
      'GET /v1/environments': () => ({
        items: [
          {
            id: 'env_1',
            name: 'staging',
            project_id: 'p1',
            team_id: 't1',
            data_plane_id: null,
            active_deployment_id: null,
            created_at: '',
          },
        ],
        next_cursor: null,
      }),
      'GET /v1/deployments': () => ({ items: [], next_cursor: null }),
      // no /v1/data-planes: the page must cope with the 404
    });
    render(<App api={createSlateApi(createHttpClient({ fetch: server.fetch }))} />);

    const email = await screen.findByLabelText('Email');
    fireEvent.change(email, { target: { value: 'stranger@example.com' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/not a member/);

    fireEvent.change(email, { target: { value: 'owner@example.com' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Environments', level: 1 })).toBeTruthy();
    expect(await screen.findByText('staging')).toBeTruthy();
    expect(await screen.findByText('Never deployed')).toBeTruthy();
    expect(screen.getByText(/doesn’t report data planes yet/)).toBeTruthy();
    expect(screen.getByText('owner@example.com')).toBeTruthy();
  });

  it('says the session expired when a reopened tab brings a cookie the server no longer honours', async () => {
    const server = createFakeServer({
      'GET /v1/me': () => reply(401, { message: 'expired', code: 'INVALID_SESSION' }),
      'GET /v1/auth/providers': () => ({ providers: [], local_login: true }),
    });
    render(<App fetch={server.fetch} />);
    expect(await screen.findByText(/session has expired/)).toBeTruthy();
  });

  it('shows a plain sign-in page to a browser without a session', async () => {
    const server = createFakeServer({
      'GET /v1/me': () => reply(401, { message: 'sign in', code: 'AUTHENTICATION_REQUIRED' }),
      'GET /v1/auth/providers': () => ({ providers: [], local_login: true }),
    });
    render(<App fetch={server.fetch} />);
    expect(await screen.findByLabelText('Email')).toBeTruthy();
    expect(screen.queryByText(/session has expired/)).toBeNull();
  });

  it('goes back to sign-in with a message when the session expires, and stays on the page', async () => {
    let session = true;
    const server = createFakeServer({
      'GET /v1/me': () =>
        session
          ? { user: { id: 'u1', email: 'owner@example.com', name: 'Owner' }, teams: [] }
          : reply(401, { message: 'expired', code: 'INVALID_SESSION' }),
      'GET /v1/auth/providers': () => ({ providers: [], local_login: true }),
      'GET /v1/teams': () => ({ items: [], next_cursor: null }),
      'GET /v1/projects': () => ({ items: [], next_cursor: null }),
      'GET /v1/environments': () =>
        session
          ? { items: [], next_cursor: null }
          : reply(401, { message: 'expired', code: 'INVALID_SESSION' }),
      'GET /v1/audit-log': () => reply(401, { message: 'expired', code: 'INVALID_SESSION' }),
    });
    window.history.replaceState(null, '', '/');
    render(<App fetch={server.fetch} />);
    expect(await screen.findByRole('heading', { name: 'Environments', level: 1 })).toBeTruthy();
    session = false;
    fireEvent.click(screen.getByRole('link', { name: 'Audit log' }));
    // The audit log is a lazily loaded chunk: give it more than the default second on a busy machine.
    expect(await screen.findByText(/session has expired/, {}, { timeout: 10_000 })).toBeTruthy();
    expect(window.location.pathname).toBe('/audit-log');
    expect(await screen.findByLabelText('Email')).toBeTruthy();
  });
});
