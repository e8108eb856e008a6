export { createLruOnlineStore, type LruOnlineStoreOptions } from './cache/lru-online-store.ts';
export { createEngine, type Engine, type EngineOptions } from './engine.ts';
export {
  type CompiledExpression,
  compileExpression,
  ExpressionError,
  type ExpressionScope,
} from './expressions/compile-expression.ts';
export { createModelHost, type ModelHost, type ModelHostOptions } from './models/model-host.ts';
export { type LoadedModel, loadOnnxModel } from './models/onnx-model.ts';
export type {
  HasManySubquery,
  Plan,
  PlannedOutput,
  ResolverStep,
  StepInput,
  StepOutput,
} from './plan/plan.ts';
export { createPlanner, type GraphIndex, indexGraph, type Planner, type QueryShape } from './plan/planner.ts';
export type {
  EngineQuery,
  EngineResult,
  ErrorCategory,
  OutputColumn,
  QueryError,
  QueryErrorCode,
} from './query.ts';
export { createInProcessRuntime } from './runtime/in-process/in-process-runtime.ts';
export type {
  CallContext,
  ResolverCall,
  ResolverException,
  ResolverOutcome,
  ResolverRuntime,
} from './runtime/resolver-runtime.ts';
export {
  createSqlRuntime,
  type SqlRuntimeOptions,
  type SqlScanOptions,
  type SqlScanPage,
  type SqlSources,
  scanSqlResolver,
} from './runtime/sql/sql-runtime.ts';
export type { WorkerModels } from './runtime/worker/worker-protocol.ts';
export {
  createWorkerRuntime,
  WORKER_SPAN,
  type WorkerRuntimeOptions,
} from './runtime/worker/worker-runtime.ts';
export { PLAN_SPAN, tracedPlanner } from './trace/traced-planner.ts';
export { traceparentOf } from './trace/traceparent.ts';
export { coerceValue, primitiveTypeOf, toJsonValue } from './values.ts';
