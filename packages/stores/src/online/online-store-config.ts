import { z } from 'zod';
import { createLmdbOnlineStore } from './lmdb/lmdb-online-store.ts';
import { createMemoryOnlineStore } from './memory/memory-online-store.ts';
import type { OnlineStore } from './online-store.ts';
import { createRedisOnlineStore } from './redis/redis-online-store.ts';

/**
 * The online store, chosen by `type`: in-process memory (lost on restart), LMDB on local disk (embedded and
 * durable, the default of `slate up`) or Redis (shared, production).
 */
export const OnlineStoreConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }),
  z.object({
    type: z.literal('lmdb'),
    path: z.string().min(1),
    durability: z.enum(['disk', 'process']).default('disk'),
  }),
  z.object({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
    keyPrefix: z.string().min(1).default('slate'),
  }),
]);
export type OnlineStoreConfig = z.input<typeof OnlineStoreConfigSchema>;

/**
 * Creates the online store a config describes (not yet initialised: call `init()`).
 *
 * @throws ZodError for an invalid config.
 * @example
 * const store = createOnlineStore({ type: 'redis', url: 'redis://127.0.0.1:6379' });
 */
export function createOnlineStore(config: OnlineStoreConfig): OnlineStore {
  const parsed = OnlineStoreConfigSchema.parse(config);
  switch (parsed.type) {
    case 'memory':
      return createMemoryOnlineStore();
    case 'lmdb':
      return createLmdbOnlineStore({ path: parsed.path, durability: parsed.durability });
    case 'redis':
      return createRedisOnlineStore({ url: parsed.url, keyPrefix: parsed.keyPrefix });
  }
}

/**
 * `REDIS_URL` selects Redis (with `SLATE_REDIS_KEY_PREFIX`); else `SLATE_ONLINE_STORE_PATH` selects LMDB in
 * that folder (with `SLATE_ONLINE_STORE_DURABILITY`, `disk` or `process`); otherwise the in-process store.
 */
export function onlineStoreConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): OnlineStoreConfig {
  if (env.REDIS_URL)
    return { type: 'redis', url: env.REDIS_URL, keyPrefix: env.SLATE_REDIS_KEY_PREFIX || undefined };
  if (env.SLATE_ONLINE_STORE_PATH) {
    const durability = env.SLATE_ONLINE_STORE_DURABILITY || undefined;
    return {
      type: 'lmdb',
      path: env.SLATE_ONLINE_STORE_PATH,
      durability: durability as 'disk' | 'process' | undefined,
    };
  }
  return { type: 'memory' };
}
