import type { Deployment, GraphArtifact } from '../api/index.ts';

/** How a definition differs from the one in the deployment before it. */
export type VersionChange = 'added' | 'changed' | 'removed';

/** One deployment in which a feature's or resolver's definition changed. */
export interface EntryVersion {
  readonly deployment: Deployment;
  readonly change: VersionChange;
}

/** The definition of `fqn` in a graph (a feature or a resolver), or undefined when the graph lacks it. */
export function definitionIn(graph: GraphArtifact, kind: 'feature' | 'resolver', fqn: string): unknown {
  if (kind === 'resolver') return graph.resolvers.find((r) => r.fqn === fqn);
  for (const namespace of graph.namespaces) {
    const feature = namespace.features.find((f) => f.fqn === fqn);
    if (feature) return feature;
  }
  return undefined;
}

/** A definition's identity for comparison: its JSON with keys sorted, and without where it stands in the source. */
function fingerprint(definition: unknown): string | undefined {
  if (definition === undefined) return undefined;
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => key !== 'source')
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, v]) => [key, sortKeys(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(sortKeys(definition));
}

/**
 * The deployments (given newest first, each with its graph) in which the definition was added, changed or
 * removed compared with the deployment before it. The oldest deployment given counts as `added` when it
 * holds the definition (the history before it is not known). Newest first.
 *
 * @example
 * versionsOf([{ deployment: d2, graph: g2 }, { deployment: d1, graph: g1 }], 'feature', 'user.name');
 */
export function versionsOf(
  history: readonly { readonly deployment: Deployment; readonly graph: GraphArtifact }[],
  kind: 'feature' | 'resolver',
  fqn: string,
): EntryVersion[] {
  const versions: EntryVersion[] = [];
  let previous: string | undefined;
  for (const { deployment, graph } of [...history].reverse()) {
    const current = fingerprint(definitionIn(graph, kind, fqn));
    if (current !== previous) {
      const change: VersionChange =
        current === undefined ? 'removed' : previous === undefined ? 'added' : 'changed';
      versions.push({ deployment, change });
    }
    previous = current;
  }
  return versions.reverse();
}
