import type { Tracer } from '@opentelemetry/api';
import type { GraphArtifact } from '@slate/graph';
import type { OnlineStore } from '@slate/stores';
import { executeQuery } from './execute/executor.ts';
import { createPlanner, type Planner } from './plan/planner.ts';
import type { EngineQuery, EngineResult } from './query.ts';
import { rewriteRelationOutputs } from './relation-outputs.ts';
import type { ResolverRuntime } from './runtime/resolver-runtime.ts';
import { tracedPlanner } from './trace/traced-planner.ts';

export interface EngineOptions {
  readonly graph: GraphArtifact;
  readonly runtime: ResolverRuntime;
  /** Where cached feature values live; without one nothing is cached. */
  readonly onlineStore?: OnlineStore;
  /** The environment's id: resolver environment scoping and the online store's namespace. */
  readonly environment: string;
  /** Other names the environment answers to in resolvers' `environment` lists (e.g. its display name). */
  readonly environmentNames?: readonly string[];
  readonly deploymentId: string;
  /** Query shapes whose plans are kept (default 1,000). */
  readonly planCacheSize?: number;
  /**
   * Answer one-row queries served wholly from the online store through a compiled single-row plan
   * (default true; the result is the general executor's, property-tested).
   */
  readonly singleRowPlans?: boolean;
  /**
   * Records planning as a `slate.plan` span under the caller's active span, when that one is recorded (a
   * sampled query); without a tracer the engine does no tracing work at all.
   */
  readonly tracer?: Tracer;
}

/** One deployment's query engine in one environment. */
export interface Engine {
  readonly graph: GraphArtifact;
  readonly deploymentId: string;
  readonly planner: Planner;
  /**
   * Where the deployment's resolvers run: streaming consumers call streaming resolvers' functions through
   * it. Wrappers of an engine pass it on.
   */
  readonly runtime?: ResolverRuntime;
  /** Answers a query; per-feature failures are in the result, never thrown. */
  query(query: EngineQuery): Promise<EngineResult>;
  /** Plans a shape ahead of traffic (named queries at deployment load). */
  prepare(inputs: readonly string[], outputs: readonly string[], tags?: readonly string[]): void;
  /** Closes the runtime; the online store belongs to the caller. */
  close(): Promise<void>;
}

/**
 * Creates the query engine of one deployment: a cached planner over its graph and an executor that runs
 * resolvers through `runtime`.
 *
 * @example
 * const engine = createEngine({ graph: artifact, runtime: createInProcessRuntime(functions), environment: 'dev', deploymentId: 'c1' });
 * const result = await engine.query({ inputs: { 'user.id': [1] }, outputs: ['user.name'] });
 */
export function createEngine(options: EngineOptions): Engine {
  const untraced = createPlanner(options.graph, {
    environment: options.environment,
    environmentNames: options.environmentNames,
    cacheSize: options.planCacheSize,
  });
  const planner = options.tracer ? tracedPlanner(untraced, options.tracer) : untraced;
  const deps = {
    planner,
    runtime: options.runtime,
    onlineStore: options.onlineStore,
    environment: options.environment,
    deploymentId: options.deploymentId,
    singleRowPlans: options.singleRowPlans,
  };
  return {
    graph: options.graph,
    deploymentId: options.deploymentId,
    planner,
    runtime: options.runtime,
    async query(query) {
      const rewrite = rewriteRelationOutputs(planner.index, query.outputs);
      if (!rewrite) return executeQuery(query, deps);
      return rewrite.collapse(await executeQuery({ ...query, outputs: rewrite.outputs }, deps));
    },
    prepare(inputs, outputs, tags = []) {
      planner.plan({ inputs, outputs, kind: 'online', tags, requiredResolverTags: [], staleness: {} });
    },
    close: () => options.runtime.close(),
  };
}
