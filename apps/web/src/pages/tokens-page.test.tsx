import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ServiceToken } from '../api/index.ts';
import { adminServer, meWith, renderSignedIn } from '../test-support/admin-fixtures.tsx';
import { reply } from '../test-support/fake-server.ts';
import { TokensPage } from './tokens-page.tsx';

function setup(role = 'admin') {
  const tokens: ServiceToken[] = [
    {
      id: 'tok_1',
      client_id: 'client-ci',
      name: 'ci-deploy',
      permissions: ['deploy.create'],
      created_at: '2026-03-01T00:00:00Z',
      last_used_at: null,
      revoked_at: null,
    },
  ];
  const server = adminServer({
    'GET /v1/environments': () => ({
      items: [
        {
          id: 'env_1',
          name: 'production',
          project_id: 'p1',
          team_id: 't1',
          data_plane_id: null,
          active_deployment_id: null,
          created_at: '',
        },
      ],
      next_cursor: null,
    }),
    'GET /v1/projects': () => ({ items: [{ id: 'p1', name: 'fraud', team_id: 't1' }], next_cursor: null }),
    'GET /v1/environments/:id/tokens': () => ({ items: tokens, next_cursor: null }),
    'POST /v1/environments/:id/tokens': (req) => {
      const body = req.body as { name: string; permissions: string[] };
      tokens.unshift({
        ...tokens[0]!,
        id: 'tok_2',
        client_id: 'client-new',
        name: body.name,
        permissions: body.permissions,
      });
      return reply(201, { id: 'tok_2', client_id: 'client-new', client_secret: 'sk_only_once' });
    },
    'POST /v1/tokens/:id/rotate': (_req, p) => ({
      id: p.id,
      client_id: 'client-ci',
      client_secret: 'sk_rotated_once',
    }),
    'DELETE /v1/tokens/:id': (_req, p) => {
      const t = tokens.findIndex((x) => x.id === p.id);
      tokens[t] = { ...tokens[t]!, revoked_at: '2026-03-02T00:00:00Z' };
      return tokens[t];
    },
  });
  renderSignedIn(<TokensPage environmentId="env_1" />, server, meWith(role));
  return server;
}

describe('TokensPage', () => {
  it('creates a token with the chosen permissions and shows its secret', async () => {
    const server = setup();
    expect(await screen.findByText('ci-deploy')).toBeTruthy();

    // The button shows once the team's roles say the user may write tokens.
    fireEvent.click(await screen.findByRole('button', { name: 'New token' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Name' }), { target: { value: 'fraud-service' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /deploy\.read/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));

    expect((await screen.findByTestId('client-secret')).textContent).toBe('sk_only_once');
    const post = server.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/v1/environments/env_1/tokens');
    expect(post.headers.get('x-slate-csrf')).toBe('1');
    expect(post.body).toEqual({ name: 'fraud-service', permissions: ['deploy.read', 'query.online'] });
    expect(await screen.findByText('fraud-service')).toBeTruthy();
  });

  it('revokes a token after confirmation', async () => {
    const server = setup();
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke' }));
    const dialog = screen.getByRole('dialog');
    expect(within(dialog).getByText(/stops working immediately/)).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke token' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(await screen.findByText('Revoked')).toBeTruthy();
    const del = server.requests.find((r) => r.method === 'DELETE')!;
    expect(del.path).toBe('/v1/tokens/tok_1');
    expect(del.headers.get('x-slate-csrf')).toBe('1');
  });

  it('rotates a token: the new secret is shown once, with what it replaced', async () => {
    const server = setup();
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate ci-deploy' }));
    const dialog = screen.getByRole('dialog');
    expect(within(dialog).getByText(/client-ci/)).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rotate secret' }));
    expect((await screen.findByTestId('client-secret')).textContent).toBe('sk_rotated_once');
    expect(screen.getByText(/Token “ci-deploy” rotated/)).toBeTruthy();
    const post = server.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/v1/tokens/tok_1/rotate');
    fireEvent.click(screen.getByRole('button', { name: 'I’ve saved the secret' }));
    expect(document.documentElement.outerHTML).not.toContain('sk_rotated_once');
  });

  it('shows a developer the tokens without create, rotate or revoke', async () => {
    setup('developer');
    expect(await screen.findByText('ci-deploy')).toBeTruthy();
    await waitFor(() => expect(screen.queryByRole('button', { name: /New token|Rotate|Revoke/ })).toBeNull());
  });
});
