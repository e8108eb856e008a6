import type { OfflineStore, OnlineStore } from '@slate/stores';
import { createOfflineWriter } from './writers/offline-writer.ts';
import { createOnlineWriter } from './writers/online-writer.ts';
import { createQueryLogWriter, createUsageWriter } from './writers/record-writers.ts';
import type { PersistenceWriter } from './writers/writer.ts';

/**
 * The writers of background persistence, in the order they apply a batch: online store, offline store,
 * query log, usage. The embedded worker and a standalone persistence process run the same set.
 */
export function createPersistenceWriters(stores: {
  onlineStore: OnlineStore;
  offlineStore: OfflineStore;
}): PersistenceWriter[] {
  return [
    createOnlineWriter(stores.onlineStore),
    createOfflineWriter(stores.offlineStore),
    createQueryLogWriter(stores.offlineStore),
    createUsageWriter(stores.offlineStore),
  ];
}
