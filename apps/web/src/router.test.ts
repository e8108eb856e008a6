import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute, type Route } from './router.tsx';

describe('router', () => {
  it('round-trips every route through its URL', () => {
    const routes: Route[] = [
      { kind: 'environments' },
      { kind: 'login' },
      { kind: 'environment', id: 'env 1', tab: 'deployments' },
      { kind: 'environment', id: 'env_1', tab: 'catalog' },
      { kind: 'environment', id: 'env_1', tab: 'schedules' },
      { kind: 'environment', id: 'env_1', tab: 'serving' },
      { kind: 'tokens', environmentId: 'env_1' },
      { kind: 'audit-log' },
      { kind: 'query', environmentId: 'env_1' },
      { kind: 'feature', environmentId: 'env_1', fqn: 'user.score@2' },
      { kind: 'resolver', environmentId: 'env 1', fqn: 'resolvers/score.get_score' },
      { kind: 'teams', teamId: null, tab: 'projects' },
      { kind: 'teams', teamId: 'acme', tab: 'projects' },
      { kind: 'teams', teamId: 'acme', tab: 'members' },
      { kind: 'teams', teamId: 'a b', tab: 'roles' },
      { kind: 'secrets', environmentId: 'env_1' },
      { kind: 'secrets', environmentId: null },
    ];
    for (const route of routes) expect(parseRoute(hrefOf(route))).toEqual(route);
  });

  it('reads /tokens?environment= and rejects unknown paths', () => {
    expect(parseRoute('/tokens', '?environment=e2')).toEqual({ kind: 'tokens', environmentId: 'e2' });
    expect(parseRoute('/login', '?error=UNKNOWN_USER')).toEqual({ kind: 'login', error: 'UNKNOWN_USER' });
    expect(hrefOf({ kind: 'login', error: 'UNKNOWN_USER' })).toBe('/login?error=UNKNOWN_USER');
    expect(parseRoute('/tokens')).toEqual({ kind: 'tokens', environmentId: null });
    expect(hrefOf({ kind: 'environment', id: 'e1', tab: 'schedules' })).toBe('/environments/e1/schedules');
    expect(parseRoute('/secrets', '?environment=e2')).toEqual({ kind: 'secrets', environmentId: 'e2' });
    expect(hrefOf({ kind: 'teams', teamId: 'acme', tab: 'roles' })).toBe('/teams/acme/roles');
    expect(parseRoute('/teams/acme/nope')).toEqual({ kind: 'not-found', path: '/teams/acme/nope' });
    expect(parseRoute('/environments/e1/nope')).toEqual({ kind: 'not-found', path: '/environments/e1/nope' });
  });

  it('spells the playground and catalog pages as the issue names them', () => {
    expect(hrefOf({ kind: 'query', environmentId: 'e1' })).toBe('/environments/e1/query');
    expect(hrefOf({ kind: 'feature', environmentId: 'e1', fqn: 'user.name' })).toBe(
      '/environments/e1/features/user.name',
    );
    expect(parseRoute('/environments/e1/resolvers/get_user')).toEqual({
      kind: 'resolver',
      environmentId: 'e1',
      fqn: 'get_user',
    });
    expect(parseRoute('/environments/e1/features').kind).toBe('not-found');
  });
});
