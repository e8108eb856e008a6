import { createMemoryOnlineStore } from '@slate/stores';
import { runOnlineStoreConformance } from '@slate/stores/conformance';
import { describe, expect, it } from 'vitest';
import { createLruOnlineStore } from './lru-online-store.ts';

let clock = 1_700_000_000_000;
const now = () => clock;

runOnlineStoreConformance('lru over memory', {
  create: async () => {
    const store = createLruOnlineStore(createMemoryOnlineStore({ now }), {
      maxEntries: 2_000,
      ttlMs: 60_000,
      now,
    });
    await store.init();
    return store;
  },
  advanceTime: async (ms) => {
    clock += ms;
  },
});

/** Counts the keys each call asks the inner store for: what the tier saves. */
function countingStore() {
  const inner = createMemoryOnlineStore({ now });
  const asked: number[] = [];
  const store = {
    ...inner,
    get: (environment: string, keys: Parameters<typeof inner.get>[1], signal?: AbortSignal) => {
      asked.push(keys.length);
      return inner.get(environment, keys, signal);
    },
  };
  return { store, asked, inner };
}

describe('createLruOnlineStore', () => {
  it('answers repeated reads from memory and asks the inner store only for misses, in one call', async () => {
    const { store, asked } = countingStore();
    const lru = createLruOnlineStore(store, { ttlMs: 1_000, now });
    await lru.set('e', [
      { feature: 'f', pkey: 1, value: 'a', observedAt: 1 },
      { feature: 'f', pkey: 2, value: { deep: [1] }, observedAt: 2 },
    ]);
    const keys = [1, 2, 3].map((pkey) => ({ feature: 'f', pkey }));
    expect(await lru.get('e', keys)).toEqual([
      { value: 'a', observedAt: 1 },
      { value: { deep: [1] }, observedAt: 2 },
      null,
    ]);
    expect(await lru.get('e', keys)).toEqual([
      { value: 'a', observedAt: 1 },
      { value: { deep: [1] }, observedAt: 2 },
      null,
    ]);
    expect(asked).toEqual([3]);
  });

  it('serves a value written elsewhere only until its ttl, then reads through again', async () => {
    const { store, asked, inner } = countingStore();
    const lru = createLruOnlineStore(store, { ttlMs: 1_000, now });
    await inner.set('e', [{ feature: 'f', pkey: 1, value: 'old', observedAt: 1 }]);
    await lru.get('e', [{ feature: 'f', pkey: 1 }]);
    await inner.set('e', [{ feature: 'f', pkey: 1, value: 'new', observedAt: 2 }]);
    expect(await lru.get('e', [{ feature: 'f', pkey: 1 }])).toEqual([{ value: 'old', observedAt: 1 }]);
    clock += 1_001;
    expect(await lru.get('e', [{ feature: 'f', pkey: 1 }])).toEqual([{ value: 'new', observedAt: 2 }]);
    expect(asked).toEqual([1, 1]);
  });

  it('evicts the least recently used entry past maxEntries', async () => {
    const { store, asked } = countingStore();
    const lru = createLruOnlineStore(store, { maxEntries: 2, ttlMs: 60_000, now });
    const k = (pkey: number) => [{ feature: 'f', pkey }];
    await lru.get('e', k(1));
    await lru.get('e', k(2));
    await lru.get('e', k(1)); // 1 is now the most recent
    await lru.get('e', k(3)); // evicts 2
    await lru.get('e', k(1));
    await lru.get('e', k(2));
    expect(asked).toEqual([1, 1, 1, 1]);
  });
});
