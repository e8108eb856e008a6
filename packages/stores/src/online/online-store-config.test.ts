import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOnlineStore, onlineStoreConfigFromEnv } from './online-store-config.ts';

describe('createOnlineStore', () => {
  it('builds an LMDB store that keeps values across instances', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slate-online-config-'));
    try {
      const first = createOnlineStore({ type: 'lmdb', path: join(root, 'online') });
      await first.init();
      expect(first.capabilities).toEqual({ persistent: true, shared: true });
      await first.set('e', [{ feature: 'u.x', pkey: 1, value: 'kept', observedAt: 1 }]);
      await first.close();
      const second = createOnlineStore({ type: 'lmdb', path: join(root, 'online'), durability: 'process' });
      await second.init();
      expect(await second.get('e', [{ feature: 'u.x', pkey: 1 }])).toEqual([
        { value: 'kept', observedAt: 1 },
      ]);
      await second.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses an LMDB config without a path or with an unknown durability', () => {
    expect(() => createOnlineStore({ type: 'lmdb', path: '' })).toThrow();
    expect(() =>
      createOnlineStore({ type: 'lmdb', path: '/tmp/x', durability: 'never' as unknown as 'disk' }),
    ).toThrow();
  });
});

describe('onlineStoreConfigFromEnv', () => {
  it('prefers Redis, then LMDB, then memory', () => {
    expect(onlineStoreConfigFromEnv({ REDIS_URL: 'redis://h:1', SLATE_ONLINE_STORE_PATH: '/p' })).toEqual({
      type: 'redis',
      url: 'redis://h:1',
      keyPrefix: undefined,
    });
    expect(
      onlineStoreConfigFromEnv({ SLATE_ONLINE_STORE_PATH: '/p', SLATE_ONLINE_STORE_DURABILITY: 'process' }),
    ).toEqual({ type: 'lmdb', path: '/p', durability: 'process' });
    expect(onlineStoreConfigFromEnv({})).toEqual({ type: 'memory' });
  });
});
