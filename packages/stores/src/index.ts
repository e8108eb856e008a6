export {
  type Bus,
  type BusCapabilities,
  type BusConsumer,
  type BusMessage,
  type ConsumerOptions,
  DEAD_LETTER_OFFSET_HEADER,
  DEAD_LETTER_REASON_HEADER,
  deadLetterTopic,
  type OutgoingMessage,
  type PollOptions,
} from './bus/bus.ts';
export { type BusConfig, BusConfigSchema, busConfigFromEnv, createBus } from './bus/bus-config.ts';
export { createKafkaBus, type KafkaBusOptions } from './bus/kafka/kafka-bus.ts';
export { createLogBus, type LogBusOptions } from './bus/log/log-bus.ts';
export { createRedisBus, type RedisBusOptions } from './bus/redis/redis-bus.ts';
export { createLocalObjectStore, type LocalObjectStoreOptions } from './object/local/local-object-store.ts';
export {
  BUCKETS,
  type BucketName,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreCapabilities,
  type PutOptions,
} from './object/object-store.ts';
export {
  createObjectStore,
  type ObjectStoreConfig,
  ObjectStoreConfigSchema,
  objectStoreConfigFromEnv,
} from './object/object-store-config.ts';
export { createS3ObjectStore, type S3ObjectStoreOptions } from './object/s3/s3-object-store.ts';
export { scopeObjectStore } from './object/scoped-object-store.ts';
export type {
  CompactionResult,
  DropOptions,
  DropResult,
  Observation,
  OfflineBatch,
  OfflineStore,
  OfflineStoreCapabilities,
  RecordBatch,
  SampledColumn,
  SampledFeature,
  SampleRequest,
  SampleResult,
  ScanOptions,
  StoredObservation,
} from './offline/offline-store.ts';
export { jsonToColumnSql } from './offline/parquet/json-column-sql.ts';
export { offlineStoreTuningFromEnv } from './offline/parquet/offline-store-env.ts';
export {
  createParquetOfflineStore,
  DEFAULT_MAX_MERGE_BYTES,
  DEFAULT_OFFLINE_MEMORY_LIMIT,
  type ParquetOfflineStoreOptions,
} from './offline/parquet/parquet-offline-store.ts';
export {
  createLmdbOnlineStore,
  type LmdbDurability,
  type LmdbOnlineStoreOptions,
} from './online/lmdb/lmdb-online-store.ts';
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
export {
  createOnlineStore,
  type OnlineStoreConfig,
  OnlineStoreConfigSchema,
  onlineStoreConfigFromEnv,
} from './online/online-store-config.ts';
export { createRedisOnlineStore, type RedisOnlineStoreOptions } from './online/redis/redis-online-store.ts';
export * from './queue/index.ts';
export { createMysqlSqlSource, type MysqlSqlSourceOptions } from './source/mysql/mysql-sql-source.ts';
export {
  createPostgresSqlSource,
  type PostgresSqlSourceOptions,
} from './source/postgres/postgres-sql-source.ts';
export type { SqlDialect, SqlRows, SqlSource, SqlStatement } from './source/sql-source.ts';
export { createSqlSource, type SqlSourceConfig, SqlSourceConfigSchema } from './source/sql-source-config.ts';
export {
  bindSqlTemplate,
  compileSqlTemplate,
  pushDownIn,
  quoteIdentifier,
  type SqlTemplate,
} from './source/sql-template.ts';
