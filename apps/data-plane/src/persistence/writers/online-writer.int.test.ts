import { randomUUID } from 'node:crypto';
import { createRedisOnlineStore, type OnlineStore } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../result-message.ts';
import { createOnlineWriter } from './online-writer.ts';
import type { ReceivedResult } from './writer.ts';

const reachable = await requireService('Redis', testServices.redisUrl);

describe.skipIf(!reachable)('createOnlineWriter (Redis)', () => {
  const keyPrefix = `slate-test-writer-${randomUUID()}`;
  let store: OnlineStore;

  beforeAll(async () => {
    store = createRedisOnlineStore({ url: testServices.redisUrl, keyPrefix });
    await store.init();
  });
  afterAll(async () => {
    for (const environment of ['a', 'b'])
      await store.dropFeatures(
        environment,
        Array.from({ length: 5 }, (_, f) => `u.f${f}`),
      );
    await store.close();
  });

  it('leaves Redis as applying every message in order would: newest wins, later on ties, deletes in place', async () => {
    // A seeded generator, so a failure reproduces.
    let seed = 7;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const keys = Array.from({ length: 8_000 }, (_, i) => ({
      feature: `u.f${i % 5}`,
      pkey: `p${Math.floor(i / 5)}`,
    }));
    const pick = () => keys[Math.floor(random() * keys.length)]!;
    const batch: ReceivedResult[] = [];
    for (let m = 0; m < 40; m++) {
      const environment = random() < 0.7 ? 'a' : 'b';
      const deleting = m === 19 || m === 33;
      const message: ResultMessage = {
        version: 1,
        environment,
        operationId: `op-${m}`,
        operationKind: 'UPLOAD_FEATURES',
        deploymentId: null,
        insertedAt: m,
        drops: [],
        // Runs of up to 19 messages × 800 values between deletes, over 8,000 keys per environment: one store
        // call holds more than one script run (5,000 distinct keys), and keys repeat within a run and across
        // runs, with backdated values and ties.
        values: deleting
          ? []
          : Array.from({ length: 800 }, (_, v) => ({
              ...pick(),
              value: `m${m}v${v}`,
              observedAt: Math.floor(random() * 20),
              resolver: null,
            })),
        writeOnline: m % 13 !== 12,
        writeOffline: false,
        deletes: deleting ? Array.from({ length: 2_000 }, pick) : [],
      };
      batch.push({ id: message.operationId, message });
    }

    // The oracle: every message applied in order, by the store's documented rule.
    const oracle = new Map<string, { value: unknown; observedAt: number }>();
    for (const { message } of batch) {
      if (!message.writeOnline) continue;
      for (const key of message.deletes) oracle.delete(`${message.environment} ${key.feature} ${key.pkey}`);
      for (const v of message.values) {
        const id = `${message.environment} ${v.feature} ${v.pkey}`;
        const stored = oracle.get(id);
        if (stored && stored.observedAt > v.observedAt) continue;
        oracle.set(id, { value: v.value, observedAt: v.observedAt });
      }
    }

    await createOnlineWriter(store).write(batch);
    for (const environment of ['a', 'b']) {
      const got = await store.get(environment, keys);
      const expected = keys.map((key) => oracle.get(`${environment} ${key.feature} ${key.pkey}`) ?? null);
      expect(got.filter((value) => value !== null).length).toBeGreaterThan(2_000);
      expect(got).toEqual(expected);
    }
  });
});
