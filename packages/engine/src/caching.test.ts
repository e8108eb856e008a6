import { createMemoryOnlineStore } from '@slate/stores';
import { createLruOnlineStore } from './cache/lru-online-store.ts';
import { runEngineCachingSuite } from './caching.suite.ts';

runEngineCachingSuite('the memory store', async () => createMemoryOnlineStore());
runEngineCachingSuite('the LRU tier over the memory store', async () =>
  createLruOnlineStore(createMemoryOnlineStore(), { maxEntries: 1_000, ttlMs: 60_000 }),
);
