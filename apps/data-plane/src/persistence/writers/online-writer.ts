import type { OnlineEntry, OnlineStore } from '@slate/stores';
import type { PersistenceWriter, ReceivedResult } from './writer.ts';

/**
 * The online writer: values of messages marked `writeOnline` into the online store, and their deletes and drops.
 * Idempotent without bookkeeping: the store keeps the newest `observedAt`, so a replayed value never
 * overwrites a newer one, and re-applying the same value leaves the same state. The values of a run of
 * messages without deletes go to the store in one `set` per environment, in message order (the store
 * applies entries of one call in order, and splits a large call into round trips itself); a delete is
 * applied in message order between two such runs.
 *
 * Values are handed to the store as parsed from the message, without copying: the store only reads them.
 */
export function createOnlineWriter(store: OnlineStore): PersistenceWriter {
  return {
    name: 'online',
    async write(batch: readonly ReceivedResult[], signal) {
      const pending = new Map<string, OnlineEntry[]>();
      const flush = async () => {
        await Promise.all(
          [...pending].map(([environment, entries]) => store.set(environment, entries, signal)),
        );
        pending.clear();
      };
      for (const { message } of batch) {
        if (!message.writeOnline) continue;
        if (message.deletes.length > 0) {
          await flush();
          await store.delete(message.environment, message.deletes, signal);
        }
        if (message.drops.length > 0) {
          await flush();
          await store.dropFeatures(message.environment, message.drops, signal);
        }
        if (message.values.length === 0) continue;
        let entries = pending.get(message.environment);
        if (entries === undefined) {
          entries = [];
          pending.set(message.environment, entries);
        }
        for (const value of message.values) entries.push(value);
      }
      await flush();
    },
  };
}
