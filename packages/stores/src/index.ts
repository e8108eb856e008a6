export {
  BUCKETS,
  type BucketName,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreCapabilities,
  type PutOptions,
} from './object/object-store.ts';
export type {
  OnlineEntry,
  OnlineKey,
  OnlineStore,
  OnlineStoreCapabilities,
  StoredValue,
} from './online/online-store.ts';
