import { randomUUID } from 'node:crypto';
import { createRedisOnlineStore } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { createLruOnlineStore } from './cache/lru-online-store.ts';
import { runEngineCachingSuite } from './caching.suite.ts';

const reachable = await requireService('Redis', testServices.redisUrl);
const keyPrefix = `slate-engine-test-${randomUUID()}`;

describe.skipIf(!reachable)('engine caching on the real Redis', () => {
  afterAll(async () => {
    const admin = new Redis(testServices.redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(keys);
    } while (cursor !== '0');
    await admin.quit();
  });

  const redis = async () => {
    const store = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
    await store.init();
    return store;
  };
  runEngineCachingSuite('Redis', redis);
  runEngineCachingSuite('the LRU tier over Redis', async () =>
    createLruOnlineStore(await redis(), { ttlMs: 60_000 }),
  );
});
