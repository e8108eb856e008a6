import { collectGraph, dataFrame, features, float, hasOne, int, online, string } from '@slate/sdk';
import { describe, expect, it } from 'vitest';
import { createEngine } from './engine.ts';
import type { EngineQuery, EngineResult } from './query.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

const accounts = [
  { id: 1, name: 'Ada', plan: 'pro', profile_id: 11 },
  { id: 2, name: 'Alan', plan: 'free', profile_id: 12 },
  { id: 3, name: 'Grace', plan: 'pro', profile_id: null },
];
const profiles = [
  { id: 11, email: 'ada@example.com', city_id: 100 },
  { id: 12, email: 'alan@example.com', city_id: 200 },
];
const cities = [
  { id: 100, name: 'London' },
  { id: 200, name: 'Manchester' },
];

const City = features('city', { id: int(), name: string() });
const Profile = features('profile', {
  id: int(),
  email: string(),
  city_id: int(),
  city: hasOne(() => City, { on: { id: 'city_id' } }),
});
const Account = features('account', {
  id: int(),
  name: string(),
  plan: string(),
  profile_id: int().nullable(),
  profile: hasOne(() => Profile, { on: { id: 'profile_id' }, optional: true }),
  score: float()
    .version(3, { default: 2, deprecated: [1] })
    .describe('risk'),
  legacy: string().deprecated().describe('use name'),
  tier: string(),
  label: string().default('none'),
  batch_calls: int(),
});

/** Counts calls per resolver, so tests can see batching and data-frame reuse. */
const calls = new Map<string, number>();
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);

export const get_account = online({
  inputs: { id: Account.id },
  outputs: { name: Account.name, profile_id: Account.profile_id, legacy: Account.legacy },
  fn: ({ id }) => {
    count('get_account');
    const found = accounts.find((a) => a.id === id);
    if (!found) throw new Error(`no account ${id}`);
    return {
      name: found.name,
      plan: found.plan,
      profile_id: found.profile_id,
      legacy: found.name.toUpperCase(),
    };
  },
});

export const all_accounts = online({
  inputs: {},
  outputs: { rows: dataFrame(Account, 'id', 'plan') },
  total: true,
  fn: () => {
    count('all_accounts');
    return { rows: accounts.map((a) => ({ id: a.id, plan: a.plan })) };
  },
});

export const get_profile = online({
  inputs: { id: Profile.id },
  outputs: { email: Profile.email, city_id: Profile.city_id },
  fn: ({ id }) => {
    const found = profiles.find((p) => p.id === id)!;
    return { email: found.email, city_id: found.city_id };
  },
});

export const get_city = online({
  inputs: { id: City.id },
  outputs: { name: City.name },
  fn: ({ id }) => ({ name: cities.find((c) => c.id === id)!.name }),
});

export const score_v1 = online({
  inputs: { id: Account.id },
  outputs: { score: Account.score.at(1) },
  fn: ({ id }) => ({ score: id * 1 }),
});
export const score_v2 = online({
  inputs: { id: Account.id },
  outputs: { score: Account.score },
  fn: ({ id }) => ({ score: id * 2 }),
});
export const score_v3 = online({
  inputs: { id: Account.id },
  outputs: { score: Account.score.at(3) },
  fn: ({ id }) => ({ score: id * 3 }),
});

// Scoping: the same feature from differently scoped resolvers.
export const tier_default = online({
  inputs: { id: Account.id },
  outputs: { tier: Account.tier },
  fn: () => ({ tier: 'default' }),
});
export const tier_prod = online({
  inputs: { id: Account.id },
  outputs: { tier: Account.tier },
  environment: 'prod',
  fn: () => ({ tier: 'prod' }),
});
export const tier_mock = online({
  inputs: { id: Account.id },
  outputs: { tier: Account.tier },
  tags: ['api:mock'],
  fn: () => ({ tier: 'mock' }),
});
export const tier_vip = online({
  inputs: { id: Account.id },
  outputs: { tier: Account.tier },
  tags: ['vip'],
  fn: () => ({ tier: 'vip' }),
});

export const batch_calls = online.batch({
  inputs: { id: Account.id },
  outputs: { batch_calls: Account.batch_calls },
  fn: (rows) => {
    count('batch_calls');
    return rows.map(() => ({ batch_calls: rows.length }));
  },
});

const { artifact, functions } = collectGraph({
  Account,
  Profile,
  City,
  get_account,
  all_accounts,
  get_profile,
  get_city,
  score_v1,
  score_v2,
  score_v3,
  tier_default,
  tier_prod,
  tier_mock,
  tier_vip,
  batch_calls,
});

const engineIn = (environment: string) =>
  createEngine({
    graph: artifact,
    runtime: createInProcessRuntime(functions),
    environment,
    deploymentId: 'd-res',
  });
const dev = engineIn('dev');
const run = (query: Partial<EngineQuery> & { outputs: string[] }, engine = dev) =>
  engine.query({ inputs: { 'account.id': [1] }, ...query });
const column = (result: EngineResult, fqn: string) => {
  const found = result.columns.find((c) => c.fqn === fqn);
  if (!found) throw new Error(`no column ${fqn} in ${result.columns.map((c) => c.fqn).join(', ')}`);
  return found;
};

describe('versions', () => {
  it('answers each version from its own resolver and the bare name with the default version', async () => {
    const result = await run({
      inputs: { 'account.id': [7] },
      outputs: ['account.score', 'account.score@1', 'account.score@3'],
    });
    expect(result.errors).toEqual([]);
    expect(result.columns.map((c) => [c.fqn, c.values[0], c.version, c.resolver])).toEqual([
      ['account.score', 14, 2, 'score_v2'],
      ['account.score@1', 7, 1, 'score_v1'],
      ['account.score@3', 21, 3, 'score_v3'],
    ]);
  });

  it('warns when a deprecated feature or version is queried', async () => {
    const result = await run({ outputs: ['account.score@1', 'account.legacy', 'account.name'] });
    expect(result.warnings).toEqual([
      "Feature 'account.score@1' is deprecated: risk",
      "Feature 'account.legacy' is deprecated: use name",
    ]);
    expect((await run({ outputs: ['account.score'] })).warnings).toEqual([]);
  });

  it('rejects a version that does not exist', async () => {
    const result = await run({ outputs: ['account.score@4'] });
    expect(result.errors).toEqual([
      {
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: 'account.score@4',
        message: "Query output referenced undefined feature 'account.score@4'",
      },
    ]);
  });
});

describe('has-one traversal', () => {
  it('returns features through one and two has-one hops as outputs', async () => {
    const result = await run({
      inputs: { 'account.id': [1, 2] },
      outputs: ['account.profile.email', 'account.profile.city.name', 'account.name'],
    });
    expect(result.errors).toEqual([]);
    expect(column(result, 'account.profile.email').values).toEqual(['ada@example.com', 'alan@example.com']);
    expect(column(result, 'account.profile.city.name').values).toEqual(['London', 'Manchester']);
    expect(column(result, 'account.profile.email').resolver).toBe('account.profile');
  });

  it('gives null for an optional relationship without a row', async () => {
    const result = await run({ inputs: { 'account.id': [3] }, outputs: ['account.profile.email'] });
    expect(result.errors).toEqual([]);
    expect(column(result, 'account.profile.email').values).toEqual([null]);
  });
});

describe('data-frame resolvers', () => {
  it('answers a query without inputs with one row per entity of the total resolver', async () => {
    calls.clear();
    const result = await dev.query({ inputs: {}, outputs: ['account.id', 'account.plan', 'account.name'] });
    expect(result.errors).toEqual([]);
    expect(result.rowCount).toBe(accounts.length);
    expect(column(result, 'account.id').values).toEqual(accounts.map((a) => a.id));
    expect(column(result, 'account.plan').values).toEqual(accounts.map((a) => a.plan));
    // The per-row resolver is preferred for name, joined to the total rows; the data frame is fetched once.
    expect(column(result, 'account.name').values).toEqual(accounts.map((a) => a.name));
    expect(calls.get('all_accounts')).toBe(1);
    expect(result.explain).toContain('rows: every entity returned by all_accounts (total)');
  });

  it('joins a data-frame resolver to the given keys when it is the only producer', async () => {
    const result = await run({ inputs: { 'account.id': [2, 9] }, outputs: ['account.plan'] });
    expect(column(result, 'account.plan').values).toEqual(['free', null]);
    expect(column(result, 'account.plan').resolver).toBe('all_accounts');
  });
});

describe('batch resolvers', () => {
  it('receive every row of a query in one call', async () => {
    calls.clear();
    const result = await run({ inputs: { 'account.id': [1, 2, 3, 4] }, outputs: ['account.batch_calls'] });
    expect(column(result, 'account.batch_calls').values).toEqual([4, 4, 4, 4]);
    expect(calls.get('batch_calls')).toBe(1);
  });
});

describe('resolver scoping', () => {
  it('prefers the environment-bound resolver in its environment', async () => {
    expect(column(await run({ outputs: ['account.tier'] }), 'account.tier').values).toEqual(['default']);
    expect(column(await run({ outputs: ['account.tier'] }, engineIn('prod')), 'account.tier').values).toEqual(
      ['prod'],
    );
  });

  it('chooses a tagged resolver when the query carries its tag (a key matches key:value)', async () => {
    const mock = await run({ outputs: ['account.tier'], tags: ['api:mock'] });
    expect(column(mock, 'account.tier').values).toEqual(['mock']);
    const vip = await run({ outputs: ['account.tier'], tags: ['vip:gold'] });
    expect(column(vip, 'account.tier').values).toEqual(['vip']);
  });

  it('reports equally specific resolvers in scope as ambiguous', async () => {
    const result = await run({ outputs: ['account.tier'], tags: ['api:mock', 'vip'] });
    expect(result.errors).toEqual([
      expect.objectContaining({
        code: 'INVALID_QUERY',
        feature: 'account.tier',
        message: expect.stringMatching(/^Ambiguous resolvers/),
      }),
    ]);
  });

  it('with required_resolver_tags, only resolvers carrying them are chosen', async () => {
    const result = await run({
      outputs: ['account.tier', 'account.name'],
      tags: ['vip'],
      requiredResolverTags: ['vip'],
    });
    expect(column(result, 'account.tier').values).toEqual(['vip']);
    // get_account carries no 'vip' tag, so name has no resolver in scope.
    expect(column(result, 'account.name').errors[0]).toMatchObject({ code: 'RESOLVER_NOT_FOUND' });
  });

  it('returns a declared default when no resolver is in scope', async () => {
    const result = await run({ outputs: ['account.label'] });
    expect(result.errors).toEqual([]);
    expect(column(result, 'account.label').values).toEqual(['none']);
  });
});
