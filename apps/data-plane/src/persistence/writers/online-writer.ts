import type { OnlineEntry, OnlineStore } from '@slate/stores';
import type { PersistenceWriter, ReceivedResult } from './writer.ts';

/** Entries per online-store round trip. */
const CHUNK = 5_000;
/** Round trips in flight at once. */
const CONCURRENCY = 4;

/**
 * The online writer: values of messages marked `writeOnline` into the online store, and their deletes.
 * Idempotent without bookkeeping: the store keeps the newest `observedAt`, so a replayed value never
 * overwrites a newer one, and re-applying the same value leaves the same state. Within a run of messages
 * without deletes only the winning value of each key is sent (newest `observedAt`, later on ties, as the
 * store would decide), so chunks hold distinct keys and go to the store several at a time; a delete is
 * applied in message order.
 */
export function createOnlineWriter(store: OnlineStore): PersistenceWriter {
  const flush = async (pending: Map<string, Map<string, OnlineEntry>>, signal?: AbortSignal) => {
    for (const [environment, unique] of pending) {
      const entries = [...unique.values()];
      const chunks: OnlineEntry[][] = [];
      for (let i = 0; i < entries.length; i += CHUNK) chunks.push(entries.slice(i, i + CHUNK));
      for (let i = 0; i < chunks.length; i += CONCURRENCY)
        await Promise.all(
          chunks.slice(i, i + CONCURRENCY).map((chunk) => store.set(environment, chunk, signal)),
        );
    }
    pending.clear();
  };
  return {
    name: 'online',
    async write(batch: readonly ReceivedResult[], signal) {
      const pending = new Map<string, Map<string, OnlineEntry>>();
      for (const { message } of batch) {
        if (!message.writeOnline) continue;
        if (message.deletes.length > 0) {
          await flush(pending, signal);
          await store.delete(message.environment, message.deletes, signal);
        }
        const entries = pending.get(message.environment) ?? new Map<string, OnlineEntry>();
        for (const v of message.values) {
          const id = `${v.feature}\u0000${v.pkey}`;
          const current = entries.get(id);
          if (current && current.observedAt > v.observedAt) continue;
          entries.set(id, {
            feature: v.feature,
            pkey: v.pkey,
            value: v.value,
            observedAt: v.observedAt,
            ttlMs: v.ttlMs,
          });
        }
        pending.set(message.environment, entries);
      }
      await flush(pending, signal);
    },
  };
}
