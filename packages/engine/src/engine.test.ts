import { collectGraph } from '@slate/sdk';
import { describe, expect, it } from 'vitest';
import * as quickstart from '../../../examples/quickstart/src/index.ts';
import { freeMailDomains, transactions, users } from '../../../examples/quickstart/src/sample-data.ts';
import { createEngine } from './engine.ts';
import type { EngineResult } from './query.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

const { artifact, functions } = collectGraph(quickstart, { project: 'quickstart' });

function quickstartEngine() {
  return createEngine({
    graph: artifact,
    runtime: createInProcessRuntime(functions),
    environment: 'dev',
    deploymentId: 'c-test',
  });
}

/** The example's features for one user, computed by plain loops over the sample data. */
function expectedUser(id: number) {
  const user = users.find((u) => u.id === id)!;
  const mine = transactions.filter((t) => t.user_id === id);
  let total = 0;
  for (const t of mine) total += t.amount;
  const domain = user.email.split('@')[1]!;
  const free = (freeMailDomains as readonly string[]).includes(domain) ? 0.2 : 0;
  const risk = Math.round(Math.min(1, mine.length * 0.05 + total / 5000 + free) * 1000) / 1000;
  return {
    name: user.name,
    email: user.email,
    domain,
    count: mine.length,
    total: Math.round(total * 100) / 100,
    risk,
  };
}

const valueAt = (result: EngineResult, fqn: string, row = 0) =>
  result.columns.find((c) => c.fqn === fqn)?.values[row];
const errorOf = (result: EngineResult, fqn: string, row = 0) =>
  result.columns.find((c) => c.fqn === fqn)?.errors[row];

describe('engine over the quickstart graph', () => {
  it.each(users.map((u) => u.id))(
    'computes every feature of user %i through chained resolvers',
    async (id) => {
      const result = await quickstartEngine().query({
        inputs: { 'user.id': [id] },
        outputs: [
          'user.name',
          'user.email_domain',
          'user.transaction_count',
          'user.total_spend',
          'user.risk_score',
        ],
      });
      const expected = expectedUser(id);
      expect(result.errors).toEqual([]);
      expect(valueAt(result, 'user.name')).toBe(expected.name);
      expect(valueAt(result, 'user.email_domain')).toBe(expected.domain);
      expect(valueAt(result, 'user.transaction_count')).toBe(expected.count);
      expect(valueAt(result, 'user.total_spend')).toBeCloseTo(expected.total, 10);
      expect(valueAt(result, 'user.risk_score')).toBeCloseTo(expected.risk, 10);
      expect(result.columns.find((c) => c.fqn === 'user.risk_score')?.resolver).toBe('risk_score');
    },
  );

  it('answers many rows in one query, each row its own', async () => {
    const ids = users.map((u) => u.id);
    const result = await quickstartEngine().query({
      inputs: { 'user.id': ids },
      outputs: ['user.transaction_count'],
    });
    expect(result.rowCount).toBe(ids.length);
    expect(result.columns[0]!.values).toEqual(ids.map((id) => expectedUser(id).count));
  });

  it('returns has-many outputs as rows with typed values', async () => {
    const result = await quickstartEngine().query({
      inputs: { 'user.id': [1] },
      outputs: ['user.transactions'],
    });
    const rows = valueAt(result, 'user.transactions') as { id: number; amount: number; at: Date }[];
    const expected = transactions.filter((t) => t.user_id === 1);
    expect(rows.map((r) => r.id)).toEqual(expected.map((t) => t.id));
    expect(rows[0]!.at).toEqual(new Date(expected[0]!.at));
  });

  it('rejects an output naming an undefined feature as the seed product does', async () => {
    const result = await quickstartEngine().query({
      inputs: { 'user.id': [1] },
      outputs: ['user.name', 'user.nope'],
    });
    expect(result.columns).toEqual([]);
    expect(result.queryHash).toBeNull();
    expect(result.errors).toEqual([
      {
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: 'user.nope',
        message: "Query output referenced undefined feature 'user.nope'",
      },
    ]);
  });

  it('reports RESOLVER_NOT_FOUND for a feature with no resolver in scope and still answers the rest', async () => {
    // Without user.id, nothing can compute user.name; the given email still yields the domain.
    const result = await quickstartEngine().query({
      inputs: { 'user.email': ['x@y.org'] },
      outputs: ['user.email_domain', 'user.name'],
    });
    expect(valueAt(result, 'user.email_domain')).toBe('y.org');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({
      code: 'RESOLVER_NOT_FOUND',
      category: 'REQUEST',
      feature: 'user.name',
    });
  });

  it('reports a throwing resolver as RESOLVER_FAILED and its dependants as UPSTREAM_FAILED', async () => {
    const result = await quickstartEngine().query({
      inputs: { 'user.id': [99] },
      outputs: ['user.name', 'user.email_domain', 'user.transaction_count'],
    });
    expect(errorOf(result, 'user.name')).toMatchObject({
      code: 'RESOLVER_FAILED',
      category: 'FIELD',
      resolver: 'get_user',
    });
    expect(errorOf(result, 'user.name')?.exception?.message).toBe('no user 99');
    expect(errorOf(result, 'user.email_domain')).toMatchObject({
      code: 'UPSTREAM_FAILED',
      feature: 'user.email_domain',
    });
    expect(valueAt(result, 'user.transaction_count')).toBe(0);
  });

  it('rejects an input of the wrong type', async () => {
    const result = await quickstartEngine().query({ inputs: { 'user.id': ['abc'] }, outputs: ['user.name'] });
    expect(result.errors[0]).toMatchObject({ code: 'PARSE_FAILED', feature: 'user.id' });
  });

  it('plans a query shape once', async () => {
    const engine = quickstartEngine();
    const first = await engine.query({ inputs: { 'user.id': [1] }, outputs: ['user.risk_score'] });
    const second = await engine.query({ inputs: { 'user.id': [2] }, outputs: ['user.risk_score'] });
    expect(first.planCacheHit).toBe(false);
    expect(second.planCacheHit).toBe(true);
    expect(second.queryHash).toBe(first.queryHash);
    expect(first.explain).toContain(
      'risk_score(user.transaction_count, user.total_spend, user.email_domain) -> user.risk_score',
    );
  });
});
