import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnlineStoreConformance } from '../online-store-conformance.ts';
import { createLmdbOnlineStore } from './lmdb-online-store.ts';

let root: string;
let clock = 1_700_000_000_000;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slate-lmdb-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const durability of ['disk', 'process'] as const) {
  runOnlineStoreConformance(`lmdb (${durability})`, {
    create: async () => {
      count += 1;
      const store = createLmdbOnlineStore({ path: join(root, `c${count}`), durability, now: () => clock });
      await store.init();
      return store;
    },
    advanceTime: async (ms) => {
      clock += ms;
    },
  });
}

describe('createLmdbOnlineStore', () => {
  it('keeps every value across close and reopen, TTLs included', async () => {
    let now = 1_000;
    const path = join(root, 'reopen');
    const first = createLmdbOnlineStore({ path, now: () => now });
    await first.init();
    await first.set('e', [
      { feature: 'u.name', pkey: 1, value: 'Ada', observedAt: 10 },
      { feature: 'u.ttl', pkey: 1, value: 'short', observedAt: 10, ttlMs: 50 },
    ]);
    await first.close();
    const second = createLmdbOnlineStore({ path, now: () => now });
    await second.init();
    const keys = [
      { feature: 'u.name', pkey: 1 },
      { feature: 'u.ttl', pkey: 1 },
    ];
    expect(await second.get('e', keys)).toEqual([
      { value: 'Ada', observedAt: 10 },
      { value: 'short', observedAt: 10 },
    ]);
    now = 1_050;
    expect(await second.get('e', keys)).toEqual([{ value: 'Ada', observedAt: 10 }, null]);
    await second.close();
  });

  it('stores primary keys, features and environments of any length and content', async () => {
    const store = createLmdbOnlineStore({ path: join(root, 'long') });
    await store.init();
    const long = 'p'.repeat(5_000);
    const env = `env-${'é'.repeat(400)}`;
    const feature = `f.${'x'.repeat(1_000)}`;
    await store.set(env, [
      { feature, pkey: long, value: 'long', observedAt: 1 },
      { feature, pkey: `${long}q`, value: 'longer', observedAt: 1 },
      { feature, pkey: 'a\u0000b', value: 'nul', observedAt: 1 },
      { feature, pkey: 'a', value: 'a', observedAt: 1 },
      { feature: 'f', pkey: '', value: 'empty', observedAt: 1 },
    ]);
    expect(
      await store.get(env, [
        { feature, pkey: long },
        { feature, pkey: `${long}q` },
        { feature, pkey: 'a\u0000b' },
        { feature, pkey: 'a' },
        { feature: 'f', pkey: '' },
      ]),
    ).toEqual([
      { value: 'long', observedAt: 1 },
      { value: 'longer', observedAt: 1 },
      { value: 'nul', observedAt: 1 },
      { value: 'a', observedAt: 1 },
      { value: 'empty', observedAt: 1 },
    ]);
    await store.dropFeatures(env, [feature]);
    expect(
      await store.get(env, [
        { feature, pkey: long },
        { feature: 'f', pkey: '' },
      ]),
    ).toEqual([null, { value: 'empty', observedAt: 1 }]);
    await store.close();
  });

  it('reports itself as persistent and shared, and refuses calls once closed', async () => {
    const store = createLmdbOnlineStore({ path: join(root, 'closed') });
    await store.init();
    expect(store.capabilities).toEqual({ persistent: true, shared: true });
    await store.close();
    const error = await store.get('e', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ONLINE_STORE_CLOSED' });
  });

  it('reports a path it cannot open as unavailable', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const store = createLmdbOnlineStore({ path: join(file, 'online') });
    const error = await store.init().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'ONLINE_STORE_UNAVAILABLE' });
  });
});
