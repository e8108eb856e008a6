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

describe.skipIf(!reachable)('createRedisBus consumer names', () => {
  const consumersOf = async (admin: Redis, topic: string, group: string) =>
    ((await admin.xinfo('CONSUMERS', `${keyPrefix}:bus:${topic}`, group)) as unknown[][]).map((fields) =>
      String(fields[1]),
    );

  it('releases the name of a consumer that closes holding nothing, and keeps one that holds entries', async () => {
    const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix });
    await bus.init();
    await bus.publish(
      'names',
      Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: `v${i}` })),
    );
    // 29 short-lived consumers, as replicas restarted under new instance ids: each takes and acks one.
    for (let i = 0; i < 29; i++) {
      const consumer = bus.consumer({ topic: 'names', group: 'g', name: `replica-${i}` });
      const got = await consumer.poll({ max: 1 });
      expect(got).toHaveLength(1);
      await consumer.ack(got);
      await consumer.close();
    }
    const holder = bus.consumer({ topic: 'names', group: 'g', name: 'holder' });
    expect(await holder.poll({ max: 1 })).toHaveLength(1);
    await holder.close();
    const admin = new Redis(testServices.redisUrl);
    // Without the release every name would stay: 30.
    expect(await consumersOf(admin, 'names', 'g')).toEqual(['holder']);
    await admin.quit();
    await bus.close();
  });

  it('prunes names idle past idleConsumerMs that hold nothing (a crashed replica’s, once claimed)', async () => {
    const admin = new Redis(testServices.redisUrl);
    const stream = `${keyPrefix}:bus:pruned`;
    await admin.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    for (let i = 0; i < 20; i++) await admin.xgroup('CREATECONSUMER', stream, 'g', `crashed-${i}`);
    await admin.xadd(stream, '*', 'i', 'm1', 'k', 'k', 'v', 'v', 't', '0', 'h', '{}');
    // One crashed consumer still holds an entry: it must stay until the entry is claimed.
    await admin.xreadgroup('GROUP', 'g', 'crashed-0', 'COUNT', 1, 'STREAMS', stream, '>');
    await new Promise((resolve) => setTimeout(resolve, 60));
    const bus = createRedisBus({ url: testServices.redisUrl, keyPrefix, idleConsumerMs: 50 });
    await bus.init();
    const live = bus.consumer({ topic: 'pruned', group: 'g', name: 'live', redeliverAfterMs: 60_000 });
    expect(await live.poll({ max: 10 })).toEqual([]);
    expect((await consumersOf(admin, 'pruned', 'g')).sort()).toEqual(['crashed-0', 'live']);
    await bus.close();
    await admin.quit();
  });
});
