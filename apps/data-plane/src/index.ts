export type { Principal } from './auth/principal.ts';
export { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.ts';
export {
  type ControlPlaneClient,
  type DesiredState,
  DesiredStateSchema,
  registerDataPlane,
} from './control-plane/control-plane-client.ts';
export { createDataPlane, type DataPlane, type DataPlaneConfig } from './data-plane.ts';
export { ServedEnvironments } from './deployments/served-environments.ts';
export { createQueryGateway, type QueryGateway, type QueryScope } from './gateway/query-gateway.ts';
export { createGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc/grpc-server.ts';
export { type ConcurrencyLimiter, createConcurrencyLimiter } from './http/concurrency-limit.ts';
export {
  createOnlineStoreFeatureWriter,
  type FeatureValueWrite,
  type FeatureWriter,
  type StoreTargets,
} from './http/feature-writer.ts';
export { OnlineQueryRequestSchema, type OnlineQueryResponse } from './http/online-query.ts';
export { createDataPlaneServer, type DataPlaneServerOptions } from './http/server.ts';
export { createDataPlaneMetrics, type DataPlaneMetrics } from './observability/data-plane-metrics.ts';
export {
  createMetricRollups,
  DEFAULT_METRIC_OUTBOX,
  type MetricRollupStats,
  type MetricRollups,
} from './observability/metric-rollups.ts';
export {
  PERSISTENCE_BATCH_SPAN,
  PERSISTENCE_MESSAGE_SPAN,
  startBatchSpans,
} from './observability/tracing/traced-batch.ts';
export { QUERY_SPAN, tracedGateway } from './observability/tracing/traced-gateway.ts';
export { RESOLVER_SPAN, tracedRuntime } from './observability/tracing/traced-runtime.ts';
export { tracedOfflineStore, tracedOnlineStore } from './observability/tracing/traced-stores.ts';
export { createTracing, type Tracing, type TracingOptions } from './observability/tracing/tracing.ts';
export {
  type TracingConfig,
  TracingConfigSchema,
  tracingConfigFromEnv,
} from './observability/tracing/tracing-config.ts';
export {
  createDataPlaneRuns,
  type DataPlaneRuns,
  type DataPlaneRunsOptions,
} from './runs/data-plane-runs.ts';
export {
  type RunListQuery,
  RunListQuerySchema,
  type RunPage,
  type RunRecord,
  RunRecordSchema,
  type RunStatus,
  type RunTriggerMessage,
  RunTriggerMessageSchema,
  type RunTriggerRequest,
} from './runs/run-record.ts';
export {
  createRunScheduler,
  type RunScheduler,
  type RunSchedulerOptions,
} from './runs/run-scheduler.ts';
export { createRunService, type RunService, type RunServiceOptions } from './runs/run-service.ts';
export { createObjectRunStore, type IncrementalState, type RunStore } from './runs/run-store.ts';
export {
  consumeRunTriggers,
  pullTriggers,
  type TriggerHandler,
  type TriggerPuller,
  triggerHandler,
} from './runs/run-trigger-consumer.ts';
export {
  createScheduledQueryRunner,
  type ScheduledQueryRunner,
  type ScheduledQueryRunnerOptions,
  type ScheduledQueryStart,
  type ScheduledQueryTrigger,
  ScheduledQueryTriggerSchema,
} from './scheduled-queries/scheduled-query-runner.ts';
export {
  createDataSourceRegistry,
  type DataSourceConfig,
  DataSourceConfigSchema,
  type DataSourceRegistry,
  resolveSecretReferences,
} from './sources/data-sources.ts';
export { createPgliteSqlSource, type PgliteSqlSourceOptions } from './sources/pglite-sql-source.ts';
export {
  createStreamConsumers,
  type StreamConsumers,
  type StreamConsumersOptions,
} from './streaming/stream-consumers.ts';
