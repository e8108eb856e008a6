// The queue family's public surface, re-exported whole by the package's `src/index.ts`.
export {
  createMemoryQueueBroker,
  createMemoryQueueStore,
  type MemoryQueueBrokerOptions,
  type MemoryQueueStore,
} from './memory/memory-queue-broker.ts';
export {
  createPgBossQueueBroker,
  type ExecuteSql,
  type PgBossQueueBrokerOptions,
  pgliteExecuteSql,
} from './pg-boss/pg-boss-queue-broker.ts';
export {
  assertQueueName,
  deadLetterNameOf,
  QUEUE_NAMES,
  type Queue,
  type QueueBody,
  type QueueBroker,
  type QueueCapabilities,
  type QueueMessage,
  type QueueName,
  type QueueOptions,
  QueueOptionsSchema,
  type ReceiveOptions,
  type ResolvedQueueOptions,
  retryDelaySeconds,
  type SendOptions,
  type SendResult,
} from './queue.ts';
export { type QueueWorker, type QueueWorkerOptions, startQueueWorker } from './queue-worker.ts';
export { createSqsQueueBroker, type SqsQueueBrokerOptions } from './sqs/sqs-queue-broker.ts';
