import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { Deployment, DeploymentStatus } from '../api/index.ts';
import { DeploymentsTable } from './deployments-table.tsx';

function deployment(id: string, status: DeploymentStatus, extra: Partial<Deployment> = {}): Deployment {
  return {
    id,
    environment_id: 'env_1',
    status,
    created_at: '2026-03-01T10:00:00Z',
    activated_at: null,
    error: null,
    git: {
      commit: `${id}aaaaaaaaaaaaaaaa`,
      branch: 'main',
      author: 'maria@acme.dev',
      message: `change ${id}`,
    },
    graph_summary: { namespaces: 1, features: 4, resolvers: 2 },
    ...extra,
  };
}

describe('DeploymentsTable', () => {
  const rows = [
    deployment('d3', 'FAILURE', { error: 'resolver risk_tier outputs an unknown feature' }),
    deployment('d2', 'SUCCESS', { activated_at: '2026-03-01T10:01:00Z' }),
    deployment('d1', 'SUCCESS'),
    deployment('d0', 'CANCELLED'),
  ];

  it('offers roll back only for earlier successful deployments, and marks the serving one', () => {
    const onRollback = vi.fn();
    render(<DeploymentsTable deployments={rows} activeId="d2" onRollback={onRollback} />);
    const body = screen.getAllByRole('row').slice(1);
    expect(body).toHaveLength(4);
    const buttons = screen.getAllByRole('button', { name: 'Roll back to this' });
    expect(buttons).toHaveLength(1);
    expect(within(body[2]!).getByRole('button', { name: 'Roll back to this' })).toBe(buttons[0]);
    expect(within(body[1]!).getByText('Serving')).toBeTruthy();

    fireEvent.click(buttons[0]!);
    expect(onRollback).toHaveBeenCalledWith(rows[2]);
  });

  it('shows status, git info and the failure reason', () => {
    render(<DeploymentsTable deployments={rows} activeId="d2" />);
    const failed = screen.getAllByRole('row')[1]!;
    expect(within(failed).getByText('Failure')).toBeTruthy();
    expect(within(failed).getByText('change d3')).toBeTruthy();
    expect(within(failed).getByText('d3aaaaa')).toBeTruthy();
    expect(within(failed).getByText('resolver risk_tier outputs an unknown feature')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Roll back to this' })).toBeNull();
  });
});
