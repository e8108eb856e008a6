import type { OnlineEntry, OnlineKey, OnlineStore, StoredValue } from '@slate/stores';

/** Options of `createLruOnlineStore`. */
export interface LruOnlineStoreOptions {
  /** Values kept in process; the least recently used is evicted past this (default 10,000). */
  readonly maxEntries?: number;
  /**
   * How long a value read from the inner store is served from memory (default 60 s). This bounds how stale
   * the tier can be when another process writes the same key in a shared inner store.
   */
  readonly ttlMs?: number;
  /** Also remember that a key is missing, for `ttlMs` (the seed product's `store_cache_misses`; default true). */
  readonly cacheMisses?: boolean;
  /** The clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

/** One remembered key: a value (or a known miss), or only an expiry learned from a write (`pending`). */
interface Slot {
  readonly found: boolean;
  /** The value when it is not an object (numbers, strings, booleans, null need no copying). */
  readonly primitive?: unknown;
  /** JSON of the value when it is an object or array, so every read hands out a fresh copy. */
  readonly json?: string;
  readonly observedAt: number;
  readonly expiresAt: number;
  readonly pending: boolean;
}

const separator = '\u0000';
const keyOf = (environment: string, key: OnlineKey) =>
  `${environment}${separator}${key.feature}${separator}${String(key.pkey)}`;

/**
 * An in-process LRU tier in front of an `OnlineStore` (the seed product's `LRUCache` online-store config):
 * reads are answered from memory when possible and only the misses go to the inner store, in one call.
 * It passes the online-store conformance suite, so it can stand wherever a store does.
 *
 * Consistency: writes, deletes and drops go through to the inner store and invalidate the keys here (the
 * inner store decides whether a backdated write wins, so this tier never guesses); a read that raced with
 * a write is not remembered. A value expires here at the earlier of `ttlMs` after it was read and the
 * expiry of the write this process made. Values written by other processes are seen within `ttlMs`.
 * Closing the tier closes the inner store.
 *
 * @example
 * const store = createLruOnlineStore(createRedisOnlineStore({ url }), { maxEntries: 50_000, ttlMs: 5_000 });
 */
export function createLruOnlineStore(inner: OnlineStore, options: LruOnlineStoreOptions = {}): OnlineStore {
  const maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  const ttlMs = options.ttlMs ?? 60_000;
  const cacheMisses = options.cacheMisses ?? true;
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  // Bumped by every write, delete and drop: a read that started before one is not remembered.
  let generation = 0;

  const remember = (key: string, slot: Slot) => {
    slots.delete(key);
    slots.set(key, slot);
    if (slots.size > maxEntries) slots.delete(slots.keys().next().value!);
  };
  const copy = (slot: Slot): StoredValue | null =>
    !slot.found
      ? null
      : {
          value: slot.json === undefined ? slot.primitive : JSON.parse(slot.json),
          observedAt: slot.observedAt,
        };

  return {
    capabilities: inner.capabilities,
    init: () => inner.init(),
    close: () => inner.close(),

    async get(environment, keys, signal) {
      signal?.throwIfAborted();
      const at = now();
      const results: (StoredValue | null)[] = new Array(keys.length).fill(null);
      const missing: number[] = [];
      const names: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const name = keyOf(environment, keys[i]!);
        names.push(name);
        const slot = slots.get(name);
        if (slot && !slot.pending && slot.expiresAt > at) {
          results[i] = copy(slot);
          // Refresh recency without churning the map for the newest entries.
          slots.delete(name);
          slots.set(name, slot);
        } else missing.push(i);
      }
      if (missing.length === 0) return results;
      const started = generation;
      const fetched = await inner.get(
        environment,
        missing.map((i) => keys[i]!),
        signal,
      );
      const fresh = started === generation;
      const expiresAt = now() + ttlMs;
      missing.forEach((index, j) => {
        const value = fetched[j] ?? null;
        results[index] = value;
        if (!fresh || (value === null && !cacheMisses)) return;
        const name = names[index]!;
        const known = slots.get(name);
        const limit = known?.pending ? Math.min(known.expiresAt, expiresAt) : expiresAt;
        const isObject = value !== null && typeof value.value === 'object' && value.value !== null;
        remember(name, {
          found: value !== null,
          primitive: isObject ? undefined : value?.value,
          json: isObject ? JSON.stringify(value.value) : undefined,
          observedAt: value?.observedAt ?? 0,
          expiresAt: limit,
          pending: false,
        });
      });
      return results;
    },

    async set(environment, entries, signal) {
      await inner.set(environment, entries, signal);
      generation++;
      const at = now();
      for (const entry of entries as readonly OnlineEntry[]) {
        // What the inner store now holds is unknown (a backdated write may have lost); remember only
        // when it expires at the latest, so a later read never outlives it.
        const expiresAt = entry.ttlMs === undefined ? Number.POSITIVE_INFINITY : at + entry.ttlMs;
        remember(keyOf(environment, entry), { found: false, observedAt: 0, expiresAt, pending: true });
      }
    },

    async delete(environment, keys, signal) {
      await inner.delete(environment, keys, signal);
      generation++;
      for (const key of keys) slots.delete(keyOf(environment, key));
    },

    async dropFeatures(environment, features, signal) {
      await inner.dropFeatures(environment, features, signal);
      generation++;
      const prefixes = features.map((feature) => `${environment}${separator}${feature}${separator}`);
      for (const name of [...slots.keys()]) {
        if (prefixes.some((prefix) => name.startsWith(prefix))) slots.delete(name);
      }
    },
  };
}
