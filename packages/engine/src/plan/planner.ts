import type { GraphArtifact } from '@slate/graph';
import { buildPlan } from './build-plan.ts';
import { type GraphIndex, indexGraph } from './graph-index.ts';
import type { Plan } from './plan.ts';

export { type GraphIndex, indexGraph } from './graph-index.ts';

/** The parts of a query that decide its plan; equal shapes share one cached plan. */
export interface QueryShape {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly kind: 'online' | 'offline';
  readonly tags: readonly string[];
  readonly requiredResolverTags: readonly string[];
  readonly staleness: Readonly<Record<string, string>>;
}

export interface Planner {
  /** The plan for a shape, from the cache when this shape was planned before. */
  plan(shape: QueryShape): { plan: Plan; cacheHit: boolean };
  /** Features, namespaces and producers of the graph, indexed. */
  readonly index: GraphIndex;
  /** How many plans were built (cache misses) since the planner was created. */
  readonly plansBuilt: number;
}

/**
 * Creates the planner of one deployment in one environment. Plans are cached by query shape (at most
 * `cacheSize`, least recently used evicted), so a repeated shape is never planned again.
 *
 * Resolver choice, as the seed product does it: a resolver is in scope when its environments include the
 * planner's (or it names none), every tag it carries matches a query tag (`key` matches `key:value`), and it
 * carries every `requiredResolverTags`; offline resolvers only in offline queries. Among those in scope the
 * most specific wins (environment-bound over generic, tagged over untagged, the query's kind over the other,
 * per-row over data-frame); two equally specific ones are an ambiguity error. Expression features are
 * computed by their expression; has-one paths (`user.profile.email`) by a nested query in the related
 * namespace, keyed by the join.
 *
 * @example
 * const planner = createPlanner(artifact, { environment: 'dev' });
 * const { plan } = planner.plan({ inputs: ['user.id'], outputs: ['user.name'], kind: 'online', tags: [], requiredResolverTags: [], staleness: {} });
 */
export function createPlanner(
  graph: GraphArtifact,
  options: { environment: string; environmentNames?: readonly string[]; cacheSize?: number },
): Planner {
  const index = indexGraph(graph);
  const environments = new Set([options.environment, ...(options.environmentNames ?? [])]);
  const cacheSize = options.cacheSize ?? 1_000;
  const cache = new Map<string, Plan>();
  let plansBuilt = 0;
  return {
    index,
    get plansBuilt() {
      return plansBuilt;
    },
    plan(shape) {
      const key = shapeKey(shape);
      const cached = cache.get(key);
      if (cached) {
        // Refresh recency only when it is not already the newest entry: the common repeated-shape case.
        if (cache.size > 1) {
          cache.delete(key);
          cache.set(key, cached);
        }
        return { plan: cached, cacheHit: true };
      }
      const plan = buildPlan(index, environments, shape);
      plansBuilt++;
      cache.set(key, plan);
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      return { plan, cacheHit: false };
    },
  };
}

function shapeKey(shape: QueryShape): string {
  const staleness = Object.keys(shape.staleness);
  return JSON.stringify([
    shape.inputs.length > 1 ? [...shape.inputs].sort() : shape.inputs,
    shape.outputs,
    shape.kind,
    shape.tags.length > 1 ? [...shape.tags].sort() : shape.tags,
    shape.requiredResolverTags.length > 1
      ? [...shape.requiredResolverTags].sort()
      : shape.requiredResolverTags,
    staleness.length === 0 ? 0 : Object.entries(shape.staleness).sort(),
  ]);
}
