export { closestName, didYouMean, editDistance } from './closest-name.ts';
export {
  DEPLOYMENT_STATUSES,
  type DeploymentStatus,
  FAILED_DEPLOYMENT_STATUSES,
} from './deployment-status.ts';
export { type Duration, parseDuration } from './duration.ts';
export { type ErrorKind, SlateError } from './errors.ts';
export {
  AGGREGATE_FUNCTIONS,
  type AggregateFunction,
  BINARY_OPERATORS,
  type BinaryOperator,
  EXPR_FUNCTIONS,
  type ExpressionReads,
  type ExprFunction,
  type ExprNode,
  ExprNodeSchema,
  expressionReads,
  formatExpression,
  UNARY_OPERATORS,
  type UnaryOperator,
} from './expression.ts';
export {
  assignable,
  type ExprType,
  type ExprTypeResult,
  type ExprTypeScope,
  exprTypeOf,
  inferExpressionType,
} from './expression-types.ts';
export { type FeatureIndex, indexFeatures, type ResolvedFeature, windowSuffix } from './feature-index.ts';
export * from './graph-artifact.ts';
export { ksStatistic } from './ks-statistic.ts';
export { type LintIssue, lintGraph } from './lint-graph.ts';
export * from './metric-checks.ts';
export * from './metric-rollups.ts';
export {
  MODEL_ELEMENT_TYPES,
  MODEL_PART_MAX_BYTES,
  ModelAliasSchema,
  type ModelElementType,
  ModelNameSchema,
  type ModelRef,
  ModelRefSchema,
  type ModelSignature,
  ModelSignatureSchema,
  type ModelTensor,
  ModelTensorSchema,
  modelPartKey,
  modelRefKey,
  type PinnedModel,
  PinnedModelSchema,
  Sha256Schema,
} from './model-signature.ts';
export { RUN_STATUSES, type RunStatus, SCHEDULE_KINDS, type ScheduleKind } from './run-status.ts';
export { type DueFireTimes, dueFireTimes, nextFireTime } from './schedule.ts';
export {
  changedGroupsQuery,
  type GroupByQueryParts,
  groupHighWaterQuery,
  hasTopLevelGroupBy,
  SQL_INCREMENTAL_PARAMETERS,
  splitGroupByQuery,
} from './sql-query-clauses.ts';
