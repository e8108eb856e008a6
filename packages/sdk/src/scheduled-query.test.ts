import { describe, expect, it } from 'vitest';
import { collectGraph } from './collect-graph.ts';
import { features } from './feature-class.ts';
import { float, int, string } from './fields.ts';
import { scheduledQuery } from './scheduled-query.ts';

const User = features('user', { id: int(), name: string(), score: float() });
const Shop = features('shop', { id: int(), city: string() });

describe('scheduledQuery', () => {
  it('goes into the artifact with Chalk defaults (store online and offline, incremental)', () => {
    const nightly = scheduledQuery({
      name: 'nightly',
      schedule: '0 3 * * *',
      output: [User.name, User.score],
    });
    const { artifact } = collectGraph({ User, nightly });
    expect(artifact.scheduledQueries).toEqual([
      expect.objectContaining({
        name: 'nightly',
        schedule: '0 3 * * *',
        output: ['user.name', 'user.score'],
        recomputeFeatures: false,
        storeOnline: true,
        storeOffline: true,
        incremental: true,
      }),
    ]);
    expect(collectGraph({ User }).artifact.scheduledQueries).toBeUndefined();
  });

  it('carries recomputed features as FQNs', () => {
    const q = scheduledQuery({
      name: 'q',
      schedule: '1h',
      output: [User.name, User.score],
      recomputeFeatures: [User.score],
      storeOffline: false,
      incremental: false,
    });
    expect(collectGraph({ User, q }).artifact.scheduledQueries?.[0]).toMatchObject({
      recomputeFeatures: ['user.score'],
      storeOffline: false,
      incremental: false,
    });
  });

  it('refuses outputs of several namespaces, stray recomputed features, bad schedules and duplicates', () => {
    expect(() => scheduledQuery({ name: 'x', schedule: '1h', output: [User.name, Shop.city] })).toThrow(
      expect.objectContaining({ code: 'INVALID_SCHEDULED_QUERY' }),
    );
    expect(() =>
      scheduledQuery({ name: 'x', schedule: '1h', output: [User.name], recomputeFeatures: [User.score] }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_SCHEDULED_QUERY' }));
    const bad = scheduledQuery({ name: 'bad', schedule: 'sometimes', output: [User.name] });
    expect(() => collectGraph({ User, bad })).toThrow(expect.objectContaining({ code: 'INVALID_GRAPH' }));
    const a = scheduledQuery({ name: 'same', schedule: '1h', output: [User.name] });
    const b = scheduledQuery({ name: 'same', schedule: '1d', output: [User.score] });
    expect(() => collectGraph({ User, a, b })).toThrow(/two scheduled queries are named 'same'/);
  });
});
