import type { DType, FeatureSpec, GraphArtifact, NamespaceSpec, ResolverSpec } from '../api/index.ts';
import { fqnOf } from '../format.ts';

/** What a resolver is, as people name it: the planner's `kind` says only where it may run. */
export type ResolverKind = 'online' | 'offline' | 'streaming' | 'sql' | 'cron';

/**
 * The resolver's kind for the catalog: a stream setting makes it `streaming`, a SQL query `sql`, a schedule
 * `cron`; otherwise the planner's `online`/`offline`. (The graph artifact's `kind` alone labelled all of
 * these "online".)
 *
 * @example
 * resolverKind({ fqn: 'r', kind: 'online', inputs: [], outputs: [], stream: { topic: 't' } }); // 'streaming'
 */
export function resolverKind(resolver: ResolverSpec): ResolverKind {
  if (resolver.stream) return 'streaming';
  if (resolver.sql) return 'sql';
  if (resolver.cron) return 'cron';
  return resolver.kind === 'offline' ? 'offline' : 'online';
}

/** `resolverKind` in words, with where it runs when that adds something: "SQL · offline". */
export function resolverKindLabel(resolver: ResolverSpec): string {
  const kind = resolverKind(resolver);
  const names: Record<ResolverKind, string> = {
    online: 'online',
    offline: 'offline',
    streaming: 'streaming',
    sql: 'SQL',
    cron: 'cron',
  };
  if (kind === 'online' || kind === 'offline' || kind === 'streaming') return names[kind];
  return `${names[kind]} · ${resolver.kind === 'offline' ? 'offline' : 'online'}`;
}

/** A feature with the namespace it belongs to. */
export interface IndexedFeature {
  readonly feature: FeatureSpec;
  readonly namespace: NamespaceSpec;
}

/** Look-ups over one deployment's graph, built once per graph. */
export interface GraphIndex {
  readonly graph: GraphArtifact;
  feature(fqn: string): IndexedFeature | undefined;
  resolver(fqn: string): ResolverSpec | undefined;
  /** Resolvers that output `fqn`. */
  producers(fqn: string): readonly ResolverSpec[];
  /** Resolvers that take `fqn` as an input (directly, or as a field of a has-many input's rows). */
  consumers(fqn: string): readonly ResolverSpec[];
  /** Every feature, in graph order (for autocompletion). */
  readonly features: readonly IndexedFeature[];
}

/** The feature FQNs a resolver input brings in: the input itself and, for a has-many, the rows' fields. */
export function inputFqns(input: ResolverSpec['inputs'][number]): string[] {
  return input.type === 'has_many' ? [input.fqn, ...input.features] : [input.fqn];
}

/** A feature's value type: scalars have one; a relationship (`has_one`/`has_many`) has none. */
export function dtypeOf(feature: FeatureSpec): DType | undefined {
  return feature.kind === 'scalar' ? feature.dtype : undefined;
}

/** {@link dtypeOf} of an index entry, `undefined` when the feature is not in the graph. */
export function dtypeOfEntry(entry: { readonly feature: FeatureSpec } | undefined): DType | undefined {
  return entry ? dtypeOf(entry.feature) : undefined;
}

/** A feature's base FQN without a version suffix (`user.score@2` → `user.score`). */
export function baseFqn(fqn: string): string {
  const at = fqn.indexOf('@');
  return at === -1 ? fqn : fqn.slice(0, at);
}

/**
 * Indexes a graph.
 *
 * @example
 * const index = createGraphIndex(graph);
 * index.producers('user.name').map((r) => r.fqn);
 */
export function createGraphIndex(graph: GraphArtifact): GraphIndex {
  const features = new Map<string, IndexedFeature>();
  const ordered: IndexedFeature[] = [];
  for (const namespace of graph.namespaces) {
    for (const feature of namespace.features) {
      const entry = { feature, namespace };
      features.set(feature.fqn, entry);
      ordered.push(entry);
    }
  }
  const resolvers = new Map(graph.resolvers.map((r) => [r.fqn, r]));
  const producers = new Map<string, ResolverSpec[]>();
  const consumers = new Map<string, ResolverSpec[]>();
  const add = (map: Map<string, ResolverSpec[]>, fqn: string, resolver: ResolverSpec) => {
    const key = baseFqn(fqn);
    const list = map.get(key) ?? [];
    if (!list.includes(resolver)) list.push(resolver);
    map.set(key, list);
  };
  for (const resolver of graph.resolvers) {
    for (const output of resolver.outputs) add(producers, fqnOf(output), resolver);
    for (const input of resolver.inputs) for (const fqn of inputFqns(input)) add(consumers, fqn, resolver);
  }
  return {
    graph,
    features: ordered,
    feature: (fqn) => features.get(fqn) ?? features.get(baseFqn(fqn)),
    resolver: (fqn) => resolvers.get(fqn),
    producers: (fqn) => producers.get(baseFqn(fqn)) ?? [],
    consumers: (fqn) => consumers.get(baseFqn(fqn)) ?? [],
  };
}
