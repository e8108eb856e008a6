import { collectGraph, features, float, int, online, stream, string } from '@slate/sdk';
import { createMemoryOnlineStore, type OnlineStore } from '@slate/stores';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from './engine.ts';
import { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';

// Features no resolver produces: their values arrive by upload (`upload_features`) into the online store.
const Account = features('account', {
  id: int(),
  nickname: string().maxStaleness('infinity'),
  score: float(), // default max staleness: 0
  tier: string().default('basic'),
  plan: string().maxStaleness('1h'),
  email: string(),
  label: string(),
});
const account_label = online({
  inputs: { id: Account.id },
  outputs: { label: Account.label },
  fn: ({ id }) => ({ label: `account-${id}` }),
});
const Meter = features('meter', { id: int(), reading: float().nullable() });
const meter_stream = stream({
  source: { topic: 'meters' },
  outputs: { id: Meter.id, reading: Meter.reading },
  parse: ({ value }) => JSON.parse(value) as { id: number; reading: number },
});

const NOW = Date.parse('2026-12-07T12:00:00Z');
let store: OnlineStore;
let engine: Engine;

beforeEach(async () => {
  const { artifact, functions } = collectGraph({ Account, account_label, Meter, meter_stream });
  store = createMemoryOnlineStore();
  await store.init();
  engine = createEngine({
    graph: artifact,
    runtime: createInProcessRuntime(functions),
    onlineStore: store,
    environment: 'e',
    deploymentId: 'd',
  });
});
afterEach(async () => {
  await engine.close();
  await store.close();
});

const query = (outputs: string[], ids: number[], staleness?: Record<string, string>) =>
  engine.query({
    inputs: { [outputs[0]!.startsWith('meter.') ? 'meter.id' : 'account.id']: ids },
    outputs,
    now: new Date(NOW),
    ...(staleness ? { staleness } : {}),
  });
const column = (result: Awaited<ReturnType<typeof query>>, fqn: string) =>
  result.columns.find((c) => c.fqn === fqn)!;

describe('features without a resolver (uploaded values)', () => {
  it('are served from the online store, whatever their declared max staleness', async () => {
    await store.set('e', [
      { feature: 'account.nickname', pkey: 1, value: 'ada', observedAt: NOW - 86_400_000 * 400 },
      { feature: 'account.score', pkey: 1, value: 0.5, observedAt: NOW - 60_000 },
      { feature: 'account.plan', pkey: 1, value: 'pro', observedAt: NOW - 60_000 },
    ]);
    const result = await query(['account.nickname', 'account.score', 'account.plan', 'account.label'], [1]);
    expect(result.errors).toEqual([]);
    expect(column(result, 'account.nickname').values).toEqual(['ada']);
    expect(column(result, 'account.nickname').observedAt).toEqual([NOW - 86_400_000 * 400]);
    expect(column(result, 'account.nickname').cacheHits).toEqual([true]);
    expect(column(result, 'account.nickname').resolver).toBeNull();
    expect(column(result, 'account.score').values).toEqual([0.5]);
    expect(column(result, 'account.plan').values).toEqual(['pro']);
    expect(column(result, 'account.label').values).toEqual(['account-1']);
  });

  it('answer RESOLVER_NOT_FOUND per entity when nothing is stored, serving the entities that have a value', async () => {
    await store.set('e', [{ feature: 'account.nickname', pkey: 2, value: 'bob', observedAt: NOW - 1_000 }]);
    const result = await query(['account.nickname', 'account.label'], [1, 2]);
    const nickname = column(result, 'account.nickname');
    expect(nickname.values).toEqual([null, 'bob']);
    expect(nickname.errors[0]).toMatchObject({
      code: 'RESOLVER_NOT_FOUND',
      category: 'REQUEST',
      feature: 'account.nickname',
    });
    expect(nickname.errors[1]).toBeNull();
    expect(result.errors).toEqual([
      expect.objectContaining({
        code: 'RESOLVER_NOT_FOUND',
        category: 'REQUEST',
        feature: 'account.nickname',
      }),
    ]);
    expect(column(result, 'account.label').values).toEqual(['account-1', 'account-2']);
    // A miss is never written back.
    expect(await store.get('e', [{ feature: 'account.nickname', pkey: 1 }])).toEqual([null]);
  });

  it('answer their declared default when nothing is stored, and the stored value when there is one', async () => {
    await store.set('e', [{ feature: 'account.tier', pkey: 2, value: 'gold', observedAt: NOW - 1_000 }]);
    const result = await query(['account.tier'], [1, 2]);
    expect(result.errors).toEqual([]);
    expect(column(result, 'account.tier').values).toEqual(['basic', 'gold']);
  });

  it('honour the declared max staleness and the query staleness', async () => {
    await store.set('e', [
      { feature: 'account.plan', pkey: 1, value: 'old', observedAt: NOW - 2 * 3_600_000 },
      { feature: 'account.nickname', pkey: 1, value: 'ada', observedAt: NOW - 10_000 },
    ]);
    const stale = await query(['account.plan'], [1]);
    expect(stale.errors).toEqual([
      expect.objectContaining({ code: 'RESOLVER_NOT_FOUND', feature: 'account.plan' }),
    ]);
    const overridden = await query(['account.plan', 'account.nickname'], [1], {
      'account.plan': '3h',
      'account.nickname': '5s',
    });
    expect(column(overridden, 'account.plan').values).toEqual(['old']);
    expect(column(overridden, 'account.nickname').errors[0]).toMatchObject({ code: 'RESOLVER_NOT_FOUND' });
  });

  it('need the primary key: a query that cannot supply it gets RESOLVER_NOT_FOUND', async () => {
    await store.set('e', [{ feature: 'account.nickname', pkey: 1, value: 'ada', observedAt: NOW - 1_000 }]);
    const result = await engine.query({
      inputs: { 'account.email': ['a@b.c'] },
      outputs: ['account.nickname'],
      now: new Date(NOW),
    });
    expect(result.errors).toEqual([
      expect.objectContaining({
        code: 'RESOLVER_NOT_FOUND',
        category: 'REQUEST',
        feature: 'account.nickname',
      }),
    ]);
  });
});

describe('features of a stream with the default max staleness', () => {
  it('are served from the online store at any age', async () => {
    await store.set('e', [{ feature: 'meter.reading', pkey: 7, value: 3.5, observedAt: NOW - 3_600_000 }]);
    const result = await query(['meter.reading'], [7, 8]);
    expect(result.errors).toEqual([]);
    expect(column(result, 'meter.reading').values).toEqual([3.5, null]);
    expect(column(result, 'meter.reading').cacheHits).toEqual([true, false]);
  });
});
