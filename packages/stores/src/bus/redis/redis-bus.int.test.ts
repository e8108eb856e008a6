import { randomUUID } from 'node:crypto';
import { requireService, testServices } from '@slate/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runBusConformance } from '../bus-conformance.ts';
import { createRedisBus } from './redis-bus.ts';

const reachable = await requireService('Redis', testServices.redisUrl);
const keyPrefix = `slate-test-${randomUUID()}`;

describe.skipIf(!reachable)('createRedisBus (Redis Streams)', () => {
  afterAll(async () => {
    const admin = new Redis(testServices.redisUrl);
    const keys = await admin.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await admin.unlink(keys);
    await admin.quit();
  });

  runBusConformance('redis streams', {
    create: async () => {
      const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix });
      await bus.init();
      return bus;
    },
  });

  it('stores one stream per topic under the key prefix, with the message fields', async () => {
    const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix });
    await bus.init();
    const [offset] = await bus.publish('layout', [{ key: 'k', value: 'v', id: 'm1' }]);
    const admin = new Redis(testServices.redisUrl);
    const entries = await admin.xrange(`${keyPrefix}:bus:layout`, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0]![0]).toBe(offset);
    const fields = entries[0]![1];
    expect(fields.slice(0, 6)).toEqual(['i', 'm1', 'k', 'k', 'v', 'v']);
    await admin.quit();
    await bus.close();
  });
});
