import type {
  FeatureSpec,
  GraphArtifact,
  HasOneFeatureSpec,
  NamespaceSpec,
  ScalarFeatureSpec,
} from './graph-artifact.ts';

/** The FQN suffix of one window of a windowed feature: `__600__` for 10 minutes, `__all__` for "all". */
export function windowSuffix(seconds: number | null): string {
  return seconds === null ? '__all__' : `__${Math.round(seconds)}__`;
}

/** What a feature name (as queries, resolvers and expressions write it) refers to. */
export type ResolvedFeature =
  | {
      readonly kind: 'feature';
      /** The canonical FQN (`user.score@2` for a version, `user.f__600__` for a window). */
      readonly fqn: string;
      readonly spec: FeatureSpec;
    }
  | {
      /** A path through a has-one relationship: `user.profile.email`. */
      readonly kind: 'path';
      readonly fqn: string;
      /** The has-one relationship the path starts with (`user.profile`). */
      readonly relation: HasOneFeatureSpec;
      /** The rest of the path, rooted in the relation's target namespace (`profile.email`). */
      readonly rest: string;
      /** The feature at the end of the path. */
      readonly spec: FeatureSpec;
    };

/** Every feature of a graph by every name it answers to. */
export interface FeatureIndex {
  /** Canonical features by canonical FQN; versioned features appear once per version. */
  readonly features: ReadonlyMap<string, FeatureSpec>;
  readonly namespaces: ReadonlyMap<string, NamespaceSpec>;
  /**
   * Resolves a name: a canonical FQN, a bare versioned name (its default version), `x@1` of an unversioned
   * feature, or a has-one path. `undefined` when it names nothing. A windowed feature's bare name is not a
   * feature: see `windows`.
   */
  resolve(name: string): ResolvedFeature | undefined;
  /** The window FQNs of a windowed feature's bare name (`user.f` → `user.f__600__`, …), else `undefined`. */
  windows(name: string): readonly string[] | undefined;
}

/**
 * Indexes a graph's features by every name they answer to: versions (`user.score@2`, the bare name meaning
 * the default version), windows (`user.f__600__`) and has-one paths (`user.profile.email`).
 *
 * @example
 * const index = indexFeatures(artifact);
 * index.resolve('user.score')?.fqn; // 'user.score@2' when version 2 is the default
 */
export function indexFeatures(graph: GraphArtifact): FeatureIndex {
  const features = new Map<string, FeatureSpec>();
  const aliases = new Map<string, string>();
  const namespaces = new Map<string, NamespaceSpec>();
  const windows = new Map<string, string[]>();
  for (const ns of graph.namespaces) {
    namespaces.set(ns.name, ns);
    for (const feature of ns.features) {
      if (feature.kind === 'scalar' && (feature.versions ?? 1) > 1) {
        for (let version = 1; version <= (feature.versions ?? 1); version++) {
          const fqn = `${feature.fqn}@${version}`;
          const spec: ScalarFeatureSpec = {
            ...feature,
            fqn,
            version,
            versions: 1,
            deprecated: feature.deprecated || (feature.deprecatedVersions ?? []).includes(version),
          };
          features.set(fqn, spec);
        }
        aliases.set(feature.fqn, `${feature.fqn}@${feature.version}`);
      } else {
        features.set(feature.fqn, feature);
        aliases.set(`${feature.fqn}@1`, feature.fqn);
      }
      if (feature.kind === 'scalar' && feature.window) {
        const base = `${ns.name}.${feature.window.base}`;
        windows.set(base, [...(windows.get(base) ?? []), feature.fqn]);
      }
    }
  }

  const memo = new Map<string, ResolvedFeature | undefined>();
  const resolve = (name: string, depth = 0): ResolvedFeature | undefined => {
    const known = memo.get(name);
    if (known) return known;
    const canonical = aliases.get(name) ?? name;
    const spec = features.get(canonical);
    let resolved: ResolvedFeature | undefined;
    if (spec) resolved = { kind: 'feature', fqn: canonical, spec };
    else if (depth < 16) {
      // `ns.relation.rest…`: follow a has-one relation into its target namespace.
      const first = name.indexOf('.');
      const second = name.indexOf('.', first + 1);
      const relation = second > 0 ? features.get(name.slice(0, second)) : undefined;
      if (relation?.kind === 'has_one') {
        const rest = `${relation.target}.${name.slice(second + 1)}`;
        const leaf = resolve(rest, depth + 1);
        if (leaf) resolved = { kind: 'path', fqn: name, relation, rest, spec: leaf.spec };
      }
    }
    // Only hits are remembered: names come from requests, and misses would grow the map without bound.
    if (resolved) memo.set(name, resolved);
    return resolved;
  };
  return { features, namespaces, resolve: (name) => resolve(name), windows: (name) => windows.get(name) };
}
