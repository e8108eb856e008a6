import { createHash } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { Redis } from 'ioredis';
import { abortable } from '../../abortable.ts';
import { checkEntry, checkEnvironment, checkFeature, pkeyOf } from '../online-input.ts';
import type { OnlineEntry, OnlineKey, OnlineStore } from '../online-store.ts';
import { decodeStoredValues, encodeStoredValue } from '../online-value-codec.ts';

/** Options for `createRedisOnlineStore`: a URL (the store owns its connection) or a client you own. */
export type RedisOnlineStoreOptions =
  | {
      /** A `redis://` or `rediss://` URL; the store connects in `init()` and disconnects in `close()`. */
      readonly url: string;
      /** The first segment of every key. Default `'slate'`. */
      readonly keyPrefix?: string;
    }
  | {
      /**
       * A client the caller owns: `close()` leaves it open. It must not set ioredis' own `keyPrefix` option
       * (SCAN patterns are not prefixed by ioredis, so `dropFeatures` would miss keys).
       */
      readonly client: Redis;
      /** The first segment of every key. Default `'slate'`. */
      readonly keyPrefix?: string;
    };

/**
 * Writes every entry unless the stored value is newer, in one atomic script run. KEYS are the value keys;
 * ARGV holds (observedAt, payload, ttlMs or 0) for each key in turn. The stored timestamp is read from the
 * payload's tail (`,"t":<number>}`, which `encodeStoredValue` always writes last) so large values are never
 * decoded. A value whose tail does not parse is overwritten.
 */
const SET_IF_NOT_OLDER = `
for i = 1, #KEYS do
  local base = (i - 1) * 3
  local incoming = tonumber(ARGV[base + 1])
  local current = redis.call('GET', KEYS[i])
  local stored = current and tonumber(string.match(current, ',"t":([^,}]+)}$'))
  if not (stored and stored > incoming) then
    local ttl = tonumber(ARGV[base + 3])
    if ttl > 0 then
      redis.call('SET', KEYS[i], ARGV[base + 2], 'PX', ttl)
    else
      redis.call('SET', KEYS[i], ARGV[base + 2])
    end
  end
end
return #KEYS
`;
const SET_IF_NOT_OLDER_SHA = createHash('sha1').update(SET_IF_NOT_OLDER).digest('hex');

/** Keys deleted per UNLINK while dropping features (and the SCAN COUNT hint). */
const SCAN_BATCH = 1_000;

/**
 * An `OnlineStore` on Redis (a single node or a primary; not Redis Cluster, whose multi-key commands need
 * every key in one slot).
 *
 * Key layout: one string key per value, `${keyPrefix}:${environment}:${feature}:${pkey}`, e.g.
 * `slate:prod:user.name:42`. `%` and `:` inside the environment and feature are percent-encoded (`%25`,
 * `%3A`), so the first three separators are unambiguous and environments can never share a key; the primary
 * key is the last segment and is stored as is. The value is compact JSON `{"v":<value>,"t":<observedAtMs>}`
 * with `PX` expiry when the entry has `ttlMs`. A key this store cannot decode reads as missing.
 *
 * Round trips: `get` is one MGET; `set` is one EVALSHA of a script that skips backdated entries (falling
 * back to EVAL once if the server has not cached the script); `delete` is one DEL; `dropFeatures` scans
 * `${keyPrefix}:${environment}:${feature}:*` and UNLINKs each page, so it takes several round trips and is
 * not atomic with concurrent writes. A `set` with very many entries blocks Redis while the script runs;
 * callers batch to a few thousand entries.
 *
 * Errors: connection failures throw `SlateError('unavailable', 'ONLINE_STORE_UNAVAILABLE')`; errors Redis
 * itself returns throw `SlateError('internal', 'ONLINE_STORE_FAILED')`; a client with its own `keyPrefix`
 * throws `SlateError('input', 'REDIS_CLIENT_KEY_PREFIX')`.
 *
 * @example
 * const store = createRedisOnlineStore({ url: 'redis://127.0.0.1:6379' });
 * await store.init();
 * await store.set('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now(), ttlMs: 60_000 }]);
 * const [name] = await store.get('prod', [{ feature: 'user.name', pkey: 1 }]);
 * await store.close();
 */
export function createRedisOnlineStore(options: RedisOnlineStoreOptions): OnlineStore {
  const keyPrefix = options.keyPrefix ?? 'slate';
  if (keyPrefix.length === 0) {
    throw new SlateError('input', 'INVALID_KEY_PREFIX', 'keyPrefix must be a non-empty string');
  }
  const owned = 'url' in options;
  const client = owned
    ? new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : options.client;
  // An owned client's failures reach callers as rejected commands; without a listener ioredis also logs them.
  if (owned) client.on('error', () => {});
  if (!owned && client.options.keyPrefix) {
    throw new SlateError(
      'input',
      'REDIS_CLIENT_KEY_PREFIX',
      "the Redis client sets ioredis' keyPrefix option; pass keyPrefix to createRedisOnlineStore instead",
    );
  }

  // Key prefixes per (environment, feature), encoded once: a query builds one key per feature it reads.
  const prefixes = new Map<string, string>();
  const keyOf = (environment: string, feature: string, pkey: string) => {
    const id = `${environment}\u0000${feature}`;
    let prefix = prefixes.get(id);
    if (prefix === undefined) {
      prefix = `${keyPrefix}:${encodeSegment(environment)}:${encodeSegment(feature)}:`;
      if (prefixes.size >= 100_000) prefixes.clear();
      prefixes.set(id, prefix);
    }
    return prefix + pkey;
  };

  /** Runs one Redis call, honouring `signal` and translating failures into `SlateError`s. */
  const call = async <T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    try {
      return await abortable(run(), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw toSlateError(error);
    }
  };

  return {
    capabilities: { persistent: true, shared: true },

    async init() {
      if (client.status === 'wait') await call(undefined, () => client.connect());
    },

    async close() {
      if (!owned) return;
      if (client.status === 'wait' || client.status === 'end') {
        client.disconnect();
        return;
      }
      await client.quit().catch(() => client.disconnect());
    },

    async get(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const redisKeys = keys.map((key) => keyOf(environment, key.feature, pkeyOf(key)));
      signal?.throwIfAborted();
      if (redisKeys.length === 0) return [];
      const raw = await call(signal, () => client.mget(redisKeys));
      return decodeStoredValues(raw);
    },

    async set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const redisKeys: string[] = [];
      const args: (string | number)[] = [];
      for (const entry of entries) {
        redisKeys.push(keyOf(environment, entry.feature, pkeyOf(entry)));
        checkEntry(entry);
        args.push(
          entry.observedAt,
          encodeStoredValue(entry.value, entry.observedAt),
          entry.ttlMs === undefined ? 0 : Math.ceil(entry.ttlMs),
        );
      }
      signal?.throwIfAborted();
      if (redisKeys.length === 0) return;
      await call(signal, async () => {
        try {
          return await client.evalsha(SET_IF_NOT_OLDER_SHA, redisKeys.length, ...redisKeys, ...args);
        } catch (error) {
          // The script cache is empty after a restart or SCRIPT FLUSH: send the body once, which caches it.
          if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
          return await client.eval(SET_IF_NOT_OLDER, redisKeys.length, ...redisKeys, ...args);
        }
      });
    },

    async delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      checkEnvironment(environment);
      const redisKeys = keys.map((key) => keyOf(environment, key.feature, pkeyOf(key)));
      signal?.throwIfAborted();
      if (redisKeys.length === 0) return;
      await call(signal, () => client.del(redisKeys));
    },

    async dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal) {
      checkEnvironment(environment);
      features.forEach(checkFeature);
      for (const feature of new Set(features)) {
        const pattern = `${escapeGlob(keyOf(environment, feature, ''))}*`;
        let cursor = '0';
        do {
          const [next, found] = await call(signal, () =>
            client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH),
          );
          cursor = next;
          if (found.length > 0) await call(signal, () => client.unlink(found));
        } while (cursor !== '0');
      }
    },
  };
}

/** Percent-encodes the characters that would make a key segment ambiguous. */
function encodeSegment(segment: string): string {
  return segment.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** Escapes Redis glob metacharacters so a SCAN pattern matches the text literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

function toSlateError(error: unknown): SlateError {
  if (error instanceof SlateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError') {
    return new SlateError(
      'internal',
      'ONLINE_STORE_FAILED',
      `Redis rejected a command: ${message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  return new SlateError(
    'unavailable',
    'ONLINE_STORE_UNAVAILABLE',
    `Redis is unavailable: ${message}`,
    undefined,
    {
      cause: error,
    },
  );
}
