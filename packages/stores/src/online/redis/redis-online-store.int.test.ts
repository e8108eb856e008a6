import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { requireService, testServices } from '@slate/testing';
import { Command, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnlineStoreConformance } from '../online-store-conformance.ts';
import { createRedisOnlineStore, packCommand } from './redis-online-store.ts';

const reachable = await requireService('Redis', testServices.redisUrl);
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

  it('gives each key of a large mixed call the expiry of its winning entry, clearing earlier expiries', async () => {
    const store = createRedisOnlineStore({ client: admin, keyPrefix });
    const env = `ttl-${randomUUID()}`;
    const count = 6_000; // more than one script run (5,000 keys), each of several MGET/MSET chunks
    await store.set(
      env,
      Array.from({ length: count }, (_, i) => ({
        feature: 'e.f',
        pkey: i,
        value: 'old',
        observedAt: 10,
        ttlMs: 60_000,
      })),
    );
    // Even keys: rewritten without TTL (newer), then a backdated TTL entry for the same key that must lose.
    // Odd keys: rewritten with a longer TTL. Keys divisible by 5: a backdated write that must change nothing.
    const entries = [];
    for (let i = 0; i < count; i++) {
      if (i % 5 === 0) entries.push({ feature: 'e.f', pkey: i, value: 'backdated', observedAt: 5 });
      else if (i % 2 === 0) {
        entries.push({ feature: 'e.f', pkey: i, value: 'plain', observedAt: 20 });
        entries.push({ feature: 'e.f', pkey: i, value: 'late-backdated', observedAt: 15, ttlMs: 1_000 });
      } else entries.push({ feature: 'e.f', pkey: i, value: 'longer', observedAt: 20, ttlMs: 600_000 });
    }
    await store.set(env, entries);
    const pipeline = admin.pipeline();
    for (let i = 0; i < count; i++) {
      pipeline.get(`${keyPrefix}:${env}:e.f:${i}`);
      pipeline.pttl(`${keyPrefix}:${env}:e.f:${i}`);
    }
    const replies = (await pipeline.exec())!.map(([error, reply]) => {
      expect(error).toBeNull();
      return reply;
    });
    for (let i = 0; i < count; i++) {
      const [text, ttl] = [replies[2 * i] as string, replies[2 * i + 1] as number];
      if (i % 5 === 0) {
        expect(text).toBe('{"v":"old","t":10}');
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } else if (i % 2 === 0) {
        expect(text).toBe('{"v":"plain","t":20}');
        expect(ttl).toBe(-1);
      } else {
        expect(text).toBe('{"v":"longer","t":20}');
        expect(ttl).toBeGreaterThan(60_000);
      }
    }
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
  it('encodes a packed command byte for byte as ioredis encodes it', () => {
    const parts = [
      'evalsha',
      'abc',
      '3',
      '',
      'x',
      'héllo "wörld" 😀',
      'k'.repeat(9),
      'k'.repeat(10),
      'k'.repeat(99),
      'k'.repeat(100),
      'v'.repeat(12_345),
    ];
    const expected = new Command(parts[0]!, parts.slice(1)).toWritable({});
    expect(packCommand(parts.slice(0, 4), parts.slice(4))).toEqual(Buffer.from(expected as string, 'utf8'));
    expect(packCommand(['ping'])).toEqual(Buffer.from('*1\r\n$4\r\nping\r\n'));
  });

  it('reports an unreachable server as unavailable', async () => {
    const store = createRedisOnlineStore({ url: 'redis://127.0.0.1:1', keyPrefix });
    const error = await store.init().catch((e: unknown) => e);
    await store.close();
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ONLINE_STORE_UNAVAILABLE' });
  });
});
