import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createHttpClient, createSlateApi } from '../api/index.ts';
import { ApiProvider } from '../api-context.tsx';
import { createFakeServer } from '../test-support/fake-server.ts';
import { graphFixture } from '../test-support/graph-fixture.ts';
import { OnlineQueryPanel } from './online-query-panel.tsx';

const graph = graphFixture({
  namespaces: [
    {
      name: 'user',
      primaryKey: 'user.id',
      features: [
        { fqn: 'user.id', kind: 'scalar', dtype: { type: 'int' } },
        { fqn: 'user.name', kind: 'scalar', dtype: { type: 'string' } },
        { fqn: 'user.score', kind: 'scalar', dtype: { type: 'float' } },
      ],
    },
  ],
  resolvers: [{ fqn: 'get_name', kind: 'online', inputs: ['user.id'], outputs: ['user.name', 'user.score'] }],
});

describe('OnlineQueryPanel', () => {
  it('sends typed inputs for the outputs’ primary key, with the session’s headers, and shows values and per-feature errors', async () => {
    const server = createFakeServer({
      'POST /v1/query/online': () => ({
        data: [
          { field: 'user.name', value: 'Ada', meta: { chosen_resolver_fqn: 'get_name', cache_hit: false } },
          {
            field: 'user.score',
            value: null,
            error: {
              code: 'RESOLVER_FAILED',
              category: 'FIELD',
              message: 'score service down',
              feature: 'user.score',
            },
          },
        ],
        errors: [],
        meta: { execution_duration_s: 0.0123, query_id: 'q_1' },
      }),
    });
    const api = createSlateApi(createHttpClient({ fetch: server.fetch }));
    render(
      <ApiProvider api={api}>
        <OnlineQueryPanel environmentId="env_1" graph={graph} initialOutputs={['user.name']} />
      </ApiProvider>,
    );
    const outputs = screen.getByRole('combobox', { name: 'Outputs' });
    fireEvent.change(outputs, { target: { value: 'user.score' } });
    fireEvent.keyDown(outputs, { key: 'Enter' });

    const id = screen.getByRole('textbox', { name: 'Input user.id' });
    fireEvent.change(id, { target: { value: '1.5' } });
    expect(screen.getByText('“1.5” is not a whole number')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Run query' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(id, { target: { value: '7' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run query' }));

    const results = await screen.findByRole('region', { name: 'Results' });
    const sent = server.requests.find((r) => r.path === '/v1/query/online')!;
    expect(sent.body).toEqual({
      inputs: { 'user.id': 7 },
      outputs: ['user.name', 'user.score'],
      include_meta: true,
    });
    expect(sent.headers.get('x-chalk-env-id')).toBe('env_1');
    expect(sent.headers.get('x-slate-csrf')).toBe('1');
    const name = within(results).getByText('Ada');
    expect(name.closest('tr')?.getAttribute('data-feature')).toBe('user.name');
    const scoreRow = results.querySelector('tr[data-feature="user.score"]')!;
    expect(scoreRow.textContent).toContain('RESOLVER_FAILED');
    expect(scoreRow.textContent).toContain('score service down');
    await waitFor(() => expect(screen.getByRole('region', { name: 'Meta' }).textContent).toContain('q_1'));
  }, 30_000);
});
