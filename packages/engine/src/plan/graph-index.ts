import { type FeatureIndex, type GraphArtifact, indexFeatures, type ResolverSpec } from '@slate/graph';

/** Every lookup the planner makes: features by any name (versions, windows, has-one paths), producers. */
export interface GraphIndex extends FeatureIndex {
  /** Resolvers producing each feature, by canonical FQN. */
  readonly producers: ReadonlyMap<string, readonly ResolverSpec[]>;
  /**
   * Streaming resolvers producing each feature. A feature no query-time resolver produces is served from
   * the online store alone through one of these (a miss answers null; nothing is written back).
   */
  readonly streamed?: ReadonlyMap<string, readonly ResolverSpec[]>;
}

/** Indexes a graph for planning: every lookup the planner makes is a map hit. */
export function indexGraph(graph: GraphArtifact): GraphIndex {
  const features = indexFeatures(graph);
  const producers = new Map<string, ResolverSpec[]>();
  const streamed = new Map<string, ResolverSpec[]>();
  for (const resolver of graph.resolvers) {
    // Streaming resolvers run on their topic's messages, never in answer to a query: their features are
    // served from the online store (see `streamed`).
    const target = resolver.stream ? streamed : producers;
    const primaryKey = features.namespaces.get(resolver.namespace)?.primaryKey;
    for (const output of resolver.outputs) {
      const fqn = features.resolve(output.fqn)?.fqn ?? output.fqn;
      // A stream keys its values by the primary key; it never supplies one to a query.
      if (resolver.stream && fqn === primaryKey) continue;
      target.set(fqn, [...(target.get(fqn) ?? []), resolver]);
    }
  }
  return {
    features: features.features,
    namespaces: features.namespaces,
    resolve: features.resolve,
    windows: features.windows,
    producers,
    streamed,
  };
}
