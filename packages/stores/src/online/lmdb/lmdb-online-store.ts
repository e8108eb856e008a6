import { SlateError } from '@slate/graph';
import { open, type RootDatabase } from 'lmdb';
import { abortable } from '../../abortable.ts';
import { checkEntry, checkEnvironment, checkFeature, pkeyOf } from '../online-input.ts';
import type { OnlineEntry, OnlineKey, OnlineStore, StoredValue } from '../online-store.ts';
import { encodeStoredValue } from '../online-value-codec.ts';
import { featurePrefix, prefixEnd, valueKey } from './lmdb-keys.ts';

/** When a write counts as done; see `LmdbOnlineStoreOptions.durability`. */
export type LmdbDurability = 'disk' | 'process';

/** Options for `createLmdbOnlineStore`. */
export interface LmdbOnlineStoreOptions {
  /** The folder holding the database (`data.mdb`, `lock.mdb`); created when missing. */
  readonly path: string;
  /**
   * When `set`, `delete` and `dropFeatures` resolve. `'disk'` (default): once the transaction holding the
   * write is flushed to disk (fsync), so it survives a power loss. `'process'`: once it is committed, that
   * is visible to every reader and in the operating system's hands, so it survives a crash or SIGKILL of
   * this process; a power loss may lose the last moments of writes (LMDB reopens at the last flushed
   * transaction, never a torn one). Concurrent writes share one transaction and one flush either way.
   */
  readonly durability?: LmdbDurability;
  /** The clock TTLs are measured against, in epoch milliseconds. Default `Date.now`; tests inject one. */
  readonly now?: () => number;
}

/** Keys removed per transaction by `dropFeatures`, so one drop never holds the write lock for long. */
const DROP_CHUNK = 10_000;

/**
 * An `OnlineStore` in an LMDB database on local disk (the `lmdb` package): the embedded default of
 * `slate up`, durable across restarts and crashes, and fast to read because LMDB reads are memory-mapped
 * lookups on this thread, with no I/O and no round trip. Persistent; shared by the processes of one machine
 * (LMDB locks for that), not across machines.
 *
 * Layout: one LMDB entry per value, keyed `=env:=feature:=pkey` (see `lmdb-keys.ts`; a segment too long for
 * LMDB's key limit is stored as its hash), whose value is the JSON every backend stores, `{"v":…,"t":…}`,
 * with `"x":<expiresAtMs>` first when the entry has a TTL. `dropFeatures` deletes a key range.
 *
 * Writes: one `set` is one LMDB transaction (it reads each stored timestamp and writes the winners inside
 * it, so the rule "backdated writes lose" holds against concurrent writers), committed off this thread
 * together with the other writes of the same event-loop turn. Expired values read as missing and are
 * overwritten by the next write; nothing sweeps them (their disk space is reused when the key is written
 * again or its feature dropped).
 *
 * Errors: after `close()` every call throws `SlateError('unavailable', 'ONLINE_STORE_CLOSED')`; a database
 * that cannot be opened (a bad path, no permission, a file of another kind) throws
 * `SlateError('unavailable', 'ONLINE_STORE_UNAVAILABLE')` from `init()`.
 *
 * @example
 * const store = createLmdbOnlineStore({ path: '.slate/online' });
 * await store.init();
 * await store.set('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now() }]);
 * const [name] = await store.get('prod', [{ feature: 'user.name', pkey: 1 }]); // { value: 'Ada', ... }
 * await store.close();
 */
export function createLmdbOnlineStore(options: LmdbOnlineStoreOptions): OnlineStore {
  const now = options.now ?? Date.now;
  const durability = options.durability ?? 'disk';
  let db: RootDatabase<string, string> | undefined;
  let closed = false;

  const database = (signal: AbortSignal | undefined): RootDatabase<string, string> => {
    signal?.throwIfAborted();
    if (closed) throw new SlateError('unavailable', 'ONLINE_STORE_CLOSED', 'the online store is closed');
    if (!db) throw new SlateError('unavailable', 'ONLINE_STORE_NOT_INITIALISED', 'call init() first');
    return db;
  };

  // Key prefixes per environment and feature, encoded once: a query builds one key per feature it reads.
  const prefixes = new Map<string, Map<string, string>>();
  const prefixesOf = (environment: string) => {
    let byFeature = prefixes.get(environment);
    if (byFeature === undefined) {
      if (prefixes.size >= 1_000) prefixes.clear();
      byFeature = new Map();
      prefixes.set(environment, byFeature);
    }
    const features = byFeature;
    return (feature: string) => {
      let prefix = features.get(feature);
      if (prefix === undefined) {
        checkFeature(feature);
        prefix = featurePrefix(environment, feature);
        if (features.size >= 100_000) features.clear();
        features.set(feature, prefix);
      }
      return prefix;
    };
  };

  /** Waits for a write transaction, then (for `'disk'`) for the flush that makes it durable. */
  const settle = async (store: RootDatabase<string, string>, written: Promise<unknown>): Promise<void> => {
    try {
      await written;
      if (durability === 'disk') await store.flushed;
    } catch (error) {
      throw toSlateError(error);
    }
  };

  return {
    capabilities: { persistent: true, shared: true },

    async init() {
      if (db || closed) return;
      try {
        db = open<string, string>({ path: options.path, encoding: 'string' });
      } catch (error) {
        throw new SlateError(
          'unavailable',
          'ONLINE_STORE_UNAVAILABLE',
          `cannot open the LMDB online store at ${options.path}: ${error instanceof Error ? error.message : String(error)}`,
          undefined,
          { cause: error },
        );
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      const store = db;
      db = undefined;
      // Closing waits for the writes already queued, so every acknowledged write is on disk.
      await store?.close();
    },

    async get(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      const store = database(signal);
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      const texts = keys.map((key) => store.get(valueKey(prefixOf(key.feature), pkeyOf(key))));
      return decodeAll(texts, now());
    },

    async set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal) {
      const store = database(signal);
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      // Validate and encode everything before writing anything, so a bad entry leaves the store untouched.
      const prepared = entries.map((entry) => {
        const key = valueKey(prefixOf(entry.feature), pkeyOf(entry));
        checkEntry(entry);
        return { key, entry, payload: encodeStoredValue(entry.value, entry.observedAt) };
      });
      if (prepared.length === 0) return;
      const written = store.transaction(() => {
        // TTLs count from when the transaction runs, which is when the write takes effect.
        const at = now();
        for (const { key, entry, payload } of prepared) {
          const stored = store.get(key);
          if (stored !== undefined && isLive(stored, at) && observedAtOf(stored) > entry.observedAt) continue;
          store.put(key, entry.ttlMs === undefined ? payload : withExpiry(payload, at + entry.ttlMs));
        }
      });
      await abortable(settle(store, written), signal);
    },

    async delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      const store = database(signal);
      checkEnvironment(environment);
      const prefixOf = prefixesOf(environment);
      const lmdbKeys = keys.map((key) => valueKey(prefixOf(key.feature), pkeyOf(key)));
      if (lmdbKeys.length === 0) return;
      const written = store.transaction(() => {
        for (const key of lmdbKeys) store.remove(key);
      });
      await abortable(settle(store, written), signal);
    },

    async dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal) {
      const store = database(signal);
      checkEnvironment(environment);
      features.forEach(checkFeature);
      const prefixOf = prefixesOf(environment);
      for (const feature of new Set(features)) {
        const start = prefixOf(feature);
        const end = prefixEnd(start);
        // Chunk by chunk, each its own transaction: like Redis' SCAN, not atomic with concurrent writes.
        for (;;) {
          const found = [...store.getKeys({ start, end, limit: DROP_CHUNK, snapshot: false })];
          if (found.length === 0) break;
          const written = store.transaction(() => {
            for (const key of found) store.remove(key);
          });
          await abortable(settle(store, written), signal);
          if (found.length < DROP_CHUNK) break;
        }
      }
    },
  };
}

/** Adds `"x":<expiresAt>` in front of an encoded value (`{"v":…,"t":…}` keeps `t` last). */
function withExpiry(payload: string, expiresAt: number): string {
  return `{"x":${expiresAt},${payload.slice(1)}`;
}

/** The expiry of a stored text, or `undefined` when it has none. */
function expiryOf(text: string): number | undefined {
  if (!text.startsWith('{"x":')) return undefined;
  return Number.parseFloat(text.slice(5, text.indexOf(',', 5)));
}

function isLive(text: string, at: number): boolean {
  const expiresAt = expiryOf(text);
  return expiresAt === undefined || expiresAt > at;
}

/** The observation time from a stored text's tail (`,"t":<number>}`); `-Infinity` when it does not parse. */
function observedAtOf(text: string): number {
  const at = text.lastIndexOf(',"t":');
  const value = at < 0 ? Number.NaN : Number(text.slice(at + 5, -1));
  return Number.isFinite(value) ? value : Number.NEGATIVE_INFINITY;
}

/**
 * Decodes stored texts (`undefined` for missing keys) with one `JSON.parse` of the whole batch; an expired
 * value, or one that does not decode, is `null`.
 */
function decodeAll(texts: readonly (string | undefined)[], at: number): (StoredValue | null)[] {
  const decode = (item: unknown): StoredValue | null => {
    if (typeof item !== 'object' || item === null || !('t' in item) || !('v' in item)) return null;
    const { v, t, x } = item as { v: unknown; t: unknown; x?: unknown };
    if (typeof t !== 'number') return null;
    if (typeof x === 'number' && x <= at) return null;
    return { value: v, observedAt: t };
  };
  const oneByOne = () =>
    texts.map((text) => {
      try {
        return text === undefined ? null : (JSON.parse(text) as unknown);
      } catch {
        return null;
      }
    });
  let parsed: unknown[];
  try {
    parsed = JSON.parse(`[${texts.map((text) => text ?? 'null').join(',')}]`) as unknown[];
  } catch {
    parsed = oneByOne();
  }
  // A damaged text such as `1,2` parses within the batch but shifts every later item.
  if (parsed.length !== texts.length) parsed = oneByOne();
  return parsed.map(decode);
}

function toSlateError(error: unknown): SlateError {
  if (error instanceof SlateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SlateError('unavailable', 'ONLINE_STORE_FAILED', `LMDB write failed: ${message}`, undefined, {
    cause: error,
  });
}
