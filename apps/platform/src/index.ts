/**
 * `slate up`'s embedded platform: both planes in one process on embedded defaults (PGlite, local buckets,
 * LMDB or in-memory online store). The CLI loads this package with a dynamic import, only for `slate up`,
 * so installing or starting any other command never loads a server (ADR 0001).
 */
export type { DataSourceConfig } from '@slate/data-plane';
export type { OnlineStoreConfig } from '@slate/stores';
export {
  type CredentialsFile,
  CredentialsFileSchema,
  type Platform,
  type PlatformOptions,
  startPlatform,
} from './start-platform.ts';
