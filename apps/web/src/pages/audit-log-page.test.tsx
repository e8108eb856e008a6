import type { AuditEntry } from '@slate/client';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { adminServer, meWith, renderSignedIn } from '../test-support/admin-fixtures.tsx';
import { AuditLogPage } from './audit-log-page.tsx';

const at = (minutes: number) => new Date(Date.UTC(2026, 2, 1, 12, minutes)).toISOString();
const ENTRIES: AuditEntry[] = [
  ['3', 'token:st_ci', 'oauth.token', 'client-ci'],
  ['2', 'user:u_1', 'tokens.create', 'st_ci'],
  ['1', 'user:u_1', 'secrets.write', 'env_1/DB'],
].map(([id, principal, action, target], i) => ({
  id: id!,
  at: at(10 - i),
  principal: principal!,
  action: action!,
  target: target!,
  ip: '10.0.0.1',
  outcome: 'success',
  trace_id: null,
  team_id: 't1',
}));

describe('AuditLogPage', () => {
  it('filters by actor and action on the server, and by clicking an actor', async () => {
    const server = adminServer({
      'GET /v1/teams/:id/members': () => ({
        items: [
          { user_id: 'u_1', email: 'ana@acme.test', name: 'Ana', role: 'admin', environment_roles: [] },
        ],
      }),
      'GET /v1/audit-log': (req) => {
        const principal = req.query.get('principal');
        const action = req.query.get('action');
        const items = ENTRIES.filter(
          (e) =>
            (!principal || e.principal === principal) &&
            (!action ||
              (action.endsWith('.*') ? e.action.startsWith(action.slice(0, -1)) : e.action === action)),
        );
        return { items, next_cursor: null };
      },
    });
    renderSignedIn(<AuditLogPage />, server, meWith('admin'));
    const table = await screen.findByRole('region', { name: 'Entries' });
    expect(within(table).getAllByRole('row')).toHaveLength(4);

    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'tokens.create' } });
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: 'Entries' })).getAllByRole('row')).toHaveLength(2),
    );
    expect(server.requests.at(-1)?.query.get('action')).toBe('tokens.create');

    fireEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: 'Entries' })).getAllByRole('row')).toHaveLength(4),
    );

    // The token exchange is attributed to the service token; clicking it filters to that actor.
    fireEvent.click(
      within(screen.getByRole('region', { name: 'Entries' })).getByRole('button', { name: 'token:st_ci' }),
    );
    await waitFor(() => expect(server.requests.at(-1)?.query.get('principal')).toBe('token:st_ci'));
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: 'Entries' })).getAllByRole('row')).toHaveLength(2),
    );
    expect((screen.getByLabelText('Actor') as HTMLSelectElement).value).toBe('token:st_ci');

    // People are named by email; filtering by one still sends their principal label.
    fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'user:u_1' } });
    await waitFor(() => expect(server.requests.at(-1)?.query.get('principal')).toBe('user:u_1'));
    const entries = screen.getByRole('region', { name: 'Entries' });
    await waitFor(() =>
      expect(within(entries).getAllByRole('button', { name: 'ana@acme.test' })).toHaveLength(2),
    );
    expect(screen.getByRole('option', { name: 'ana@acme.test (user:u_1)' })).toBeTruthy();
  }, 30_000);
});
