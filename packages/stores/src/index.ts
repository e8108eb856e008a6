export { createLocalObjectStore, type LocalObjectStoreOptions } from './object/local/local-object-store.ts';
export {
  BUCKETS,
  type BucketName,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreCapabilities,
  type PutOptions,
} from './object/object-store.ts';
export { createS3ObjectStore, type S3ObjectStoreOptions } from './object/s3/s3-object-store.ts';
export { scopeObjectStore } from './object/scoped-object-store.ts';
export {
  createMemoryOnlineStore,
  type MemoryOnlineStoreOptions,
} from './online/memory/memory-online-store.ts';
export type {
  OnlineEntry,
  OnlineKey,
  OnlineStore,
  OnlineStoreCapabilities,
  StoredValue,
} from './online/online-store.ts';
export { createRedisOnlineStore, type RedisOnlineStoreOptions } from './online/redis/redis-online-store.ts';
export {
  createObjectStore,
  type ObjectStoreConfig,
  ObjectStoreConfigSchema,
  objectStoreConfigFromEnv,
} from './object/object-store-config.ts';
export {
  createOnlineStore,
  type OnlineStoreConfig,
  OnlineStoreConfigSchema,
  onlineStoreConfigFromEnv,
} from './online/online-store-config.ts';
