import type { OfflineBatch, OfflineStore } from '@slate/stores';
import type { PersistenceWriter } from './writer.ts';

/**
 * The offline writer: every value of messages marked `writeOffline` into the offline store, with its
 * observed-at, inserted-at, resolver, deployment and operation (query) id. One commit per environment per
 * batch; the store skips messages it committed before, so redelivery never duplicates rows. A drop
 * (`drops`) splits the batch: what came before it is written first, then the features are dropped up to
 * the drop's `insertedAt`, so a redelivered drop never erases values written after it.
 */
export function createOfflineWriter(store: OfflineStore): PersistenceWriter {
  return {
    name: 'offline',
    async write(batch, signal) {
      const byEnvironment = new Map<string, OfflineBatch[]>();
      const flush = async () => {
        for (const [environment, batches] of byEnvironment) await store.write(environment, batches, signal);
        byEnvironment.clear();
      };
      for (const { id, message } of batch) {
        if (message.writeOffline && message.drops.length > 0) {
          await flush();
          await store.dropFeatures(message.environment, message.drops, {
            insertedBefore: message.insertedAt,
            signal,
          });
        }
        if (!message.writeOffline || message.values.length === 0) continue;
        const batches = byEnvironment.get(message.environment) ?? [];
        batches.push({
          id,
          observations: message.values.map((v) => ({
            feature: v.feature,
            pkey: v.pkey,
            value: v.value,
            observedAt: v.observedAt,
            insertedAt: message.insertedAt,
            resolver: v.resolver,
            deploymentId: message.deploymentId,
            queryId: message.operationId,
          })),
        });
        byEnvironment.set(message.environment, batches);
      }
      await flush();
    },
  };
}
