import { SlateError } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { runOnlineStoreConformance } from '../online-store-conformance.ts';
import { createMemoryOnlineStore } from './memory-online-store.ts';

let clock = 1_700_000_000_000;

runOnlineStoreConformance('memory', {
  create: async () => {
    const store = createMemoryOnlineStore({ now: () => clock });
    await store.init();
    return store;
  },
  advanceTime: async (ms) => {
    clock += ms;
  },
});

describe('createMemoryOnlineStore', () => {
  it('expires exactly at ttlMs after the write, by the injected clock', async () => {
    let now = 1_000;
    const store = createMemoryOnlineStore({ now: () => now });
    await store.set('e', [{ feature: 'f', pkey: 1, value: 'v', observedAt: 0, ttlMs: 50 }]);
    now = 1_049;
    expect(await store.get('e', [{ feature: 'f', pkey: 1 }])).toEqual([{ value: 'v', observedAt: 0 }]);
    now = 1_050;
    expect(await store.get('e', [{ feature: 'f', pkey: 1 }])).toEqual([null]);
  });

  it('reports itself as neither persistent nor shared, and refuses calls once closed', async () => {
    const store = createMemoryOnlineStore();
    expect(store.capabilities).toEqual({ persistent: false, shared: false });
    await store.close();
    const error = await store.get('e', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ONLINE_STORE_CLOSED' });
  });
});
