/**
 * The conformance suites, as a separate entry point (`@slate/stores/conformance`) because they import
 * vitest: keeping them out of `index.ts` means production processes that import `@slate/stores` never load
 * a test runner (which a production install does not even contain). Import it only from test files.
 *
 * @example
 * import { runOnlineStoreConformance } from '@slate/stores/conformance';
 * runOnlineStoreConformance('my-store', { create: async () => createMyOnlineStore() });
 */

export { type BusConformanceOptions, runBusConformance } from './bus/bus-conformance.ts';
export {
  type ObjectStoreConformanceOptions,
  runObjectStoreConformance,
} from './object/object-store-conformance.ts';
export {
  type OfflineStoreConformanceOptions,
  runOfflineStoreConformance,
  seededRandom,
} from './offline/offline-store-conformance.ts';
export { pointInTimeOracle } from './offline/point-in-time-oracle.ts';
export {
  type OnlineStoreConformanceOptions,
  runOnlineStoreConformance,
} from './online/online-store-conformance.ts';
export { type QueueConformanceOptions, runQueueConformance } from './queue/queue-conformance.ts';
export { runSqlSourceConformance } from './source/sql-source-conformance.ts';
