// The SQL clause helpers live in the graph package, which the engine shares; re-exported for users.
export {
  changedGroupsQuery,
  type GroupByQueryParts,
  groupHighWaterQuery,
  hasTopLevelGroupBy,
  SQL_INCREMENTAL_PARAMETERS,
  splitGroupByQuery,
} from '@slate/graph';
export {
  type Chart,
  type ChartOptions,
  chart,
  type DriftCheck,
  type DriftCheckOptions,
  driftCheck,
  isChart,
  isDriftCheck,
  type MetricSubject,
  type SeriesDefinition,
  type SeriesOptions,
  series,
  type TriggerOptions,
} from './chart.ts';
export { type CollectedGraph, collectGraph, type ResolverFunction } from './collect-graph.ts';
export type { Expr, Operand, Ref, Rows } from './expressions/expr.ts';
export { F } from './expressions/functions.ts';
export {
  type AnyFeatureClass,
  type AnyRef,
  type FeatureClass,
  type FeatureClassOptions,
  type FeatureRef,
  featureClassInternals,
  features,
  type HasManyRef,
  type HasOneRef,
  hasMany,
  hasOne,
  type RowOf,
  type WindowedRef,
} from './feature-class.ts';
export {
  bool,
  date,
  datetime,
  document,
  enumOf,
  float,
  int,
  list,
  ScalarField,
  type ScalarFieldOptions,
  set,
  string,
  struct,
  vector,
} from './fields.ts';
export {
  installModelProvider,
  isModelHandle,
  type ModelHandle,
  type ModelOutputRow,
  type ModelProvider,
  type ModelRow,
  model,
  type Prediction,
} from './model.ts';
export { type NamedQuery, type NamedQueryOptions, namedQuery } from './named-query.ts';
export {
  type BatchResolverOptions,
  type DataFrameRef,
  dataFrame,
  offline,
  online,
  type Resolver,
  type ResolverContext,
  type ResolverOptions,
  type ResolverRefs,
  type ValuesOf,
} from './resolver.ts';
export {
  isScheduledQuery,
  type ScheduledQuery,
  type ScheduledQueryOptions,
  scheduledQuery,
} from './scheduled-query.ts';
export {
  declareSqlResolver,
  isSqlResolver,
  parseSqlResolverFile,
  type SqlIncrementalOptions,
  type SqlResolver,
  type SqlResolverDeclaration,
  type SqlResolverOptions,
  sqlResolver,
} from './sql-resolver.ts';
export { normalizeColumnName, selectedColumns, sqlParameters } from './sql-resolver-spec.ts';
export {
  isStreamResolver,
  STREAM_MESSAGE_PARAM,
  STREAM_SKIPPED_OUTPUT,
  type StreamMessage,
  type StreamOptions,
  type StreamOutputs,
  type StreamResolver,
  stream,
} from './stream.ts';
export {
  parseStreamMessage,
  runResolver,
  runResolverRows,
  type TestContextOptions,
  testContext,
} from './testing.ts';
export { isWindowedField, WindowedField, type WindowedOptions, windowed } from './windowed.ts';
export {
  isWindowedStreamResolver,
  STREAM_KEY_OUTPUT,
  STREAM_TIME_OUTPUT,
  type WindowAggregation,
  type WindowAggregationFunction,
  type WindowAggregators,
  type WindowedStreamOptions,
  type WindowedStreamResolver,
  windowedStream,
} from './windowed-stream.ts';
