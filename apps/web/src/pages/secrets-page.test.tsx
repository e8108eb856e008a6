import type { Secret } from '@slate/client';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { adminServer, meWith, renderSignedIn } from '../test-support/admin-fixtures.tsx';
import { reply } from '../test-support/fake-server.ts';
import { SecretsPage } from './secrets-page.tsx';

const VALUE = 'sk_live_7f3a9c-do-not-show';

function setup(role: string) {
  const secrets: Secret[] = [
    {
      name: 'DB_PASSWORD',
      environment_id: 'env_1',
      created_at: '2026-03-01T00:00:00Z',
      updated_at: '2026-03-01T00:00:00Z',
      updated_by: 'user:u_1',
    },
  ];
  const server = adminServer({
    'GET /v1/environments/:id/secrets': () => ({ items: secrets }),
    'PUT /v1/environments/:id/secrets/:name': (req, p) => {
      const secret = {
        name: p.name!,
        environment_id: p.id!,
        created_at: '2026-03-02T00:00:00Z',
        updated_at: '2026-03-02T00:00:00Z',
        updated_by: 'user:u_me',
      };
      if ((req.body as { value: string }).value === 'refused-value')
        return reply(400, { code: 'INVALID_REQUEST', message: 'value refused', detail: null, trace: null });
      secrets.push(secret);
      return secret;
    },
    'DELETE /v1/environments/:id/secrets/:name': (_req, p) => {
      secrets.splice(
        secrets.findIndex((s) => s.name === p.name),
        1,
      );
      return { ok: true };
    },
  });
  renderSignedIn(<SecretsPage environmentId="env_1" />, server, meWith(role));
  return server;
}

describe('SecretsPage', () => {
  it('sets a secret write-only: the value is sent once and is nowhere in the page afterwards', async () => {
    const server = setup('admin');
    expect(await screen.findByText('DB_PASSWORD')).toBeTruthy();
    const value = screen.getByLabelText('Secret value') as HTMLInputElement;
    expect(value.type).toBe('password');
    fireEvent.change(screen.getByLabelText('Secret name'), { target: { value: 'STRIPE_KEY' } });
    fireEvent.change(value, { target: { value: VALUE } });
    fireEvent.click(screen.getByRole('button', { name: 'Set secret' }));

    expect(await screen.findByText('STRIPE_KEY')).toBeTruthy();
    expect((await screen.findByRole('status')).textContent).toMatch(/Saved STRIPE_KEY/);
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe('/v1/environments/env_1/secrets/STRIPE_KEY');
    expect(put.body).toEqual({ value: VALUE });
    expect(put.headers.get('x-slate-csrf')).toBe('1');
    // Not in any attribute, text node or input value of the page.
    expect(document.documentElement.outerHTML).not.toContain(VALUE);
    expect((screen.getByLabelText('Secret value') as HTMLInputElement).value).toBe('');
    expect([...document.querySelectorAll('input')].map((i) => i.value)).not.toContain(VALUE);
  });

  it('clears the value when the server refuses it too', async () => {
    setup('admin');
    await screen.findByText('DB_PASSWORD');
    fireEvent.change(screen.getByLabelText('Secret name'), { target: { value: 'A' } });
    fireEvent.change(screen.getByLabelText('Secret value'), { target: { value: 'refused-value' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set secret' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/value refused/);
    expect((screen.getByLabelText('Secret value') as HTMLInputElement).value).toBe('');
    expect(document.documentElement.outerHTML).not.toContain('refused-value');
    // The name stays, so a retry only needs the value typed again.
    expect((screen.getByLabelText('Secret name') as HTMLInputElement).value).toBe('A');
  });

  it('deletes a secret after confirmation', async () => {
    const server = setup('admin');
    fireEvent.click(await screen.findByRole('button', { name: 'Delete DB_PASSWORD' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete secret' }));
    await waitFor(() => expect(screen.queryByText('DB_PASSWORD')).toBeNull());
    expect(server.requests.find((r) => r.method === 'DELETE')?.path).toBe(
      '/v1/environments/env_1/secrets/DB_PASSWORD',
    );
  });

  it('shows a developer the names but no way to set or delete', async () => {
    setup('developer');
    expect(await screen.findByText('DB_PASSWORD')).toBeTruthy();
    expect(await screen.findByText(/Your role cannot set or delete secrets/)).toBeTruthy();
    expect(screen.queryByLabelText('Secret value')).toBeNull();
    expect(screen.queryByRole('button', { name: /Delete/ })).toBeNull();
  });
});
