import { SlateError } from '@slate/graph';
import { checkEntry, checkEnvironment, checkFeature, pkeyOf } from '../online-input.ts';
import type { OnlineEntry, OnlineKey, OnlineStore, StoredValue } from '../online-store.ts';
import { decodeStoredValue, encodeStoredValue } from '../online-value-codec.ts';

/** Options for `createMemoryOnlineStore`. */
export interface MemoryOnlineStoreOptions {
  /** The clock TTLs are measured against, in epoch milliseconds. Default `Date.now`; tests inject one. */
  readonly now?: () => number;
}

interface Slot {
  /** The encoded JSON, so callers never share (and mutate) a stored object. */
  readonly payload: string;
  readonly observedAt: number;
  /** Epoch ms at which the value stops being readable; `undefined` never expires. */
  readonly expiresAt: number | undefined;
}

/** environment → feature → primary key (string form) → slot. */
type Values = Map<string, Map<string, Map<string, Slot>>>;

/**
 * An `OnlineStore` in this process's memory: the embedded default and the reference implementation the
 * conformance suite is written against. Values are kept as encoded JSON, exactly as Redis keeps them, so
 * both backends return the same thing. Expired values are dropped when next read or written (there is no
 * background sweep). Not persistent, not shared; after `close()` every call throws
 * `SlateError('unavailable', 'ONLINE_STORE_CLOSED')`.
 *
 * @example
 * const store = createMemoryOnlineStore();
 * await store.set('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now() }]);
 * const [name] = await store.get('prod', [{ feature: 'user.name', pkey: 1 }]); // { value: 'Ada', ... }
 */
export function createMemoryOnlineStore(options: MemoryOnlineStoreOptions = {}): OnlineStore {
  const now = options.now ?? Date.now;
  const values: Values = new Map();
  let closed = false;

  const open = (signal: AbortSignal | undefined) => {
    signal?.throwIfAborted();
    if (closed) throw new SlateError('unavailable', 'ONLINE_STORE_CLOSED', 'the online store is closed');
  };

  /** The live slot for a key, deleting it first when it has expired. */
  const liveSlot = (byPkey: Map<string, Slot> | undefined, pkey: string, at: number): Slot | undefined => {
    const slot = byPkey?.get(pkey);
    if (slot?.expiresAt !== undefined && slot.expiresAt <= at) {
      byPkey?.delete(pkey);
      return undefined;
    }
    return slot;
  };

  return {
    capabilities: { persistent: false, shared: false },

    async init() {},

    async close() {
      closed = true;
      values.clear();
    },

    async get(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      open(signal);
      checkEnvironment(environment);
      const pkeys = keys.map(pkeyOf);
      const byFeature = values.get(environment);
      const at = now();
      return keys.map((key, i): StoredValue | null => {
        const slot = liveSlot(byFeature?.get(key.feature), pkeys[i]!, at);
        return slot ? decodeStoredValue(slot.payload) : null;
      });
    },

    async set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal) {
      open(signal);
      checkEnvironment(environment);
      // Validate and encode everything before writing anything, so a bad entry leaves the store untouched.
      const prepared = entries.map((entry) => {
        const pkey = pkeyOf(entry);
        checkEntry(entry);
        return { entry, pkey, payload: encodeStoredValue(entry.value, entry.observedAt) };
      });
      if (prepared.length === 0) return;
      let byFeature = values.get(environment);
      if (!byFeature) {
        byFeature = new Map();
        values.set(environment, byFeature);
      }
      const at = now();
      for (const { entry, pkey, payload } of prepared) {
        let byPkey = byFeature.get(entry.feature);
        if (!byPkey) {
          byPkey = new Map();
          byFeature.set(entry.feature, byPkey);
        }
        const current = liveSlot(byPkey, pkey, at);
        if (current && current.observedAt > entry.observedAt) continue;
        const expiresAt = entry.ttlMs === undefined ? undefined : at + entry.ttlMs;
        byPkey.set(pkey, { payload, observedAt: entry.observedAt, expiresAt });
      }
    },

    async delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal) {
      open(signal);
      checkEnvironment(environment);
      const pkeys = keys.map(pkeyOf);
      const byFeature = values.get(environment);
      keys.forEach((key, i) => {
        byFeature?.get(key.feature)?.delete(pkeys[i]!);
      });
    },

    async dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal) {
      open(signal);
      checkEnvironment(environment);
      features.forEach(checkFeature);
      const byFeature = values.get(environment);
      for (const feature of features) byFeature?.delete(feature);
    },
  };
}
