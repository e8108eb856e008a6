import { lintGraph } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import * as quickstart from '../../../examples/quickstart/src/index.ts';
import { collectGraph, features, int, online, string } from './index.ts';

describe('collectGraph', () => {
  const { artifact, functions } = collectGraph(quickstart, { project: 'quickstart' });

  it('reads every namespace, feature and resolver of the example', () => {
    expect(artifact.namespaces.map((ns) => ns.name).sort()).toEqual(['transaction', 'user']);
    const user = artifact.namespaces.find((ns) => ns.name === 'user')!;
    expect(user.primaryKey).toBe('user.id');
    expect(user.features.map((f) => f.fqn)).toEqual([
      'user.id',
      'user.name',
      'user.email',
      'user.email_domain',
      'user.transactions',
      'user.transaction_count',
      'user.total_spend',
      'user.risk_score',
      'user.plan',
      'user.seats',
      'user.last_page',
      'user.num_page_views__600__',
      'user.num_page_views__3600__',
    ]);
    expect(artifact.resolvers.map((r) => r.fqn).sort()).toEqual(
      [
        'email_domain',
        'get_transaction',
        'get_user',
        'page_views',
        'page_view_counts',
        'risk_score',
        'transaction_stats',
        'user_directory',
        'user_transactions',
      ].sort(),
    );
    expect([...functions.keys()].sort()).toEqual(artifact.resolvers.map((r) => r.fqn).sort());
  });

  it('records relationships, projections and inherited metadata', () => {
    const user = artifact.namespaces.find((ns) => ns.name === 'user')!;
    const transactions = user.features.find((f) => f.name === 'transactions');
    expect(transactions).toMatchObject({
      kind: 'has_many',
      target: 'transaction',
      join: [{ local: 'user.id', foreign: 'transaction.user_id' }],
    });
    const stats = artifact.resolvers.find((r) => r.fqn === 'transaction_stats')!;
    expect(stats.inputs).toEqual([
      { type: 'has_many', param: 'transactions', fqn: 'user.transactions', features: ['transaction.amount'] },
    ]);
    const name = user.features.find((f) => f.name === 'name')!;
    expect(name).toMatchObject({ owner: 'fraud-team@example.com', tags: ['team:fraud'] });
  });

  it('points each definition at its source line', () => {
    const getUser = artifact.resolvers.find((r) => r.fqn === 'get_user')!;
    expect(getUser.source?.file).toMatch(/examples\/quickstart\/src\/resolvers\.ts$/);
    expect(getUser.source?.line).toBe(5);
  });

  it('round-trips through JSON unchanged', () => {
    expect(JSON.parse(JSON.stringify(artifact))).toEqual(artifact);
  });

  it('produces a graph with no lint errors', () => {
    expect(lintGraph(artifact)).toEqual([]);
  });

  it('reports a resolver that spans two namespaces, with its file and line', () => {
    const A = features('a', { id: int(), x: string() });
    const B = features('b', { id: int(), y: string() });
    const bad = online({ inputs: { x: A.x }, outputs: { y: B.y }, fn: ({ x }) => ({ y: x }) });
    const issues = lintGraph(collectGraph({ A, B, bad }).artifact);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('MIXED_NAMESPACES');
    expect(issues[0]!.message).toMatch(/collect-graph\.test\.ts:\d+: resolver bad mixes namespaces/);
  });

  it('reports cycles between resolvers', () => {
    const C = features('c', { id: int(), p: string(), q: string() });
    const toQ = online({ inputs: { p: C.p }, outputs: { q: C.q }, fn: ({ p }) => ({ q: p }) });
    const toP = online({ inputs: { q: C.q }, outputs: { p: C.p }, fn: ({ q }) => ({ p: q }) });
    const codes = lintGraph(collectGraph({ C, toQ, toP }).artifact).map((issue) => issue.code);
    expect(codes).toContain('CYCLE');
  });

  it('refuses a class without a primary key', () => {
    expect(() => features('nokey', { name: string() })).toThrow(/no primary key/);
  });
});
