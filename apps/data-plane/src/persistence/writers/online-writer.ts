import type { OnlineEntry, OnlineStore } from '@slate/stores';
import type { PersistenceWriter } from './writer.ts';

/** Entries per online-store round trip. */
const CHUNK = 5_000;

/**
 * The online writer: values of messages marked `writeOnline` into the online store, and their deletes.
 * Idempotent without bookkeeping: the store keeps the newest `observedAt`, so a replayed value never
 * overwrites a newer one, and re-applying the same value leaves the same state.
 */
export function createOnlineWriter(store: OnlineStore): PersistenceWriter {
  return {
    name: 'online',
    async write(batch, signal) {
      const byEnvironment = new Map<string, OnlineEntry[]>();
      for (const { message } of batch) {
        if (!message.writeOnline) continue;
        const entries = byEnvironment.get(message.environment) ?? [];
        for (const v of message.values)
          entries.push({
            feature: v.feature,
            pkey: v.pkey,
            value: v.value,
            observedAt: v.observedAt,
            ttlMs: v.ttlMs,
          });
        byEnvironment.set(message.environment, entries);
      }
      for (const [environment, entries] of byEnvironment) {
        for (let i = 0; i < entries.length; i += CHUNK)
          await store.set(environment, entries.slice(i, i + CHUNK), signal);
      }
      for (const { message } of batch) {
        if (message.deletes.length > 0 && message.writeOnline)
          await store.delete(message.environment, message.deletes, signal);
      }
    },
  };
}
