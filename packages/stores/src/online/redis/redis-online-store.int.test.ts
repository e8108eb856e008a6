import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { isReachable, testServices } from '@slate/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnlineStoreConformance } from '../online-store-conformance.ts';
import { createRedisOnlineStore } from './redis-online-store.ts';

const reachable = await isReachable(testServices.redisUrl);
const keyPrefix = `slate-test-${randomUUID()}`;

describe.skipIf(!reachable)('createRedisOnlineStore (Redis)', () => {
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(testServices.redisUrl);
  });

  afterAll(async () => {
    // Remove everything this run wrote, and fail loudly if the store wrote outside its prefix.
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(keys);
    } while (cursor !== '0');
    await admin.quit();
  });

  runOnlineStoreConformance('redis', {
    create: async () => {
      const store = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
      await store.init();
      return store;
    },
  });

  it('lays keys out as prefix:env:feature:pkey holding {"v":…,"t":…} with PX expiry', async () => {
    const store = createRedisOnlineStore({ client: admin, keyPrefix });
    await store.set('prod', [
      {
        feature: 'user.name',
        pkey: 42,
        value: { first: 'Ada' },
        observedAt: 1_700_000_000_123,
        ttlMs: 60_000,
      },
      { feature: 'odd:feature%', pkey: 'a:b', value: 1, observedAt: 5 },
    ]);
    expect(await admin.get(`${keyPrefix}:prod:user.name:42`)).toBe('{"v":{"first":"Ada"},"t":1700000000123}');
    const ttl = await admin.pttl(`${keyPrefix}:prod:user.name:42`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await admin.get(`${keyPrefix}:prod:odd%3Afeature%25:a:b`)).toBe('{"v":1,"t":5}');
    expect(await admin.pttl(`${keyPrefix}:prod:odd%3Afeature%25:a:b`)).toBe(-1);
    await store.close();
    expect(admin.status).toBe('ready'); // a client passed in stays open
  });

  it('reads a value it cannot decode as missing', async () => {
    const store = createRedisOnlineStore({ client: admin, keyPrefix });
    await admin.set(`${keyPrefix}:foreign:f:1`, 'not json');
    await admin.set(`${keyPrefix}:foreign:f:2`, '{"other":true}');
    expect(
      await store.get('foreign', [
        { feature: 'f', pkey: 1 },
        { feature: 'f', pkey: 2 },
      ]),
    ).toEqual([null, null]);
  });

  it('refuses a client that sets its own keyPrefix', () => {
    const prefixed = new Redis(testServices.redisUrl, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => createRedisOnlineStore({ client: prefixed })).toThrow(
      expect.objectContaining({ kind: 'input', code: 'REDIS_CLIENT_KEY_PREFIX' }),
    );
    prefixed.disconnect();
  });
});

describe('createRedisOnlineStore without a server', () => {
  it('reports an unreachable server as unavailable', async () => {
    const store = createRedisOnlineStore({ url: 'redis://127.0.0.1:1', keyPrefix });
    const error = await store.init().catch((e: unknown) => e);
    await store.close();
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ONLINE_STORE_UNAVAILABLE' });
  });
});
