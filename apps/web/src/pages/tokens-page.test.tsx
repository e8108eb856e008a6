import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createHttpClient, createSlateApi, type ServiceToken } from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { createFakeServer, reply } from '../test-support/fake-server.ts';
import { TokensPage } from './tokens-page.tsx';

function setup() {
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
  const server = createFakeServer({
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
    'DELETE /v1/tokens/:id': (_req, p) => {
      const t = tokens.findIndex((x) => x.id === p.id);
      tokens[t] = { ...tokens[t]!, revoked_at: '2026-03-02T00:00:00Z' };
      return tokens[t];
    },
  });
  const api = createSlateApi(createHttpClient({ fetch: server.fetch }));
  render(
    <ApiProvider api={api}>
      <TokensPage environmentId="env_1" />
    </ApiProvider>,
  );
  return server;
}

describe('TokensPage', () => {
  it('creates a token with the chosen permissions and shows its secret', async () => {
    const server = setup();
    expect(await screen.findByText('ci-deploy')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'New token' }));
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
});
