import type { GraphArtifact } from '@slate/graph';

/** The tag that marks a feature whose values must never be logged. */
export const SENSITIVE_TAG = 'sensitive';

interface FeatureSets {
  readonly sensitive: ReadonlySet<string>;
  readonly known: ReadonlySet<string>;
}

const setsByGraph = new WeakMap<GraphArtifact, FeatureSets>();

function featureSets(graph: GraphArtifact): FeatureSets {
  let sets = setsByGraph.get(graph);
  if (!sets) {
    const all = graph.namespaces.flatMap((namespace) =>
      namespace.features.map((feature) => ({
        fqn: feature.fqn,
        sensitive: namespace.tags.includes(SENSITIVE_TAG) || feature.tags.includes(SENSITIVE_TAG),
      })),
    );
    sets = {
      sensitive: new Set(all.filter((f) => f.sensitive).map((f) => f.fqn)),
      known: new Set(all.map((f) => f.fqn)),
    };
    setsByGraph.set(graph, sets);
  }
  return sets;
}

/** FQNs of the graph's features tagged `sensitive` (on the feature or its whole feature class). */
export function sensitiveFeatures(graph: GraphArtifact): ReadonlySet<string> {
  return featureSets(graph).sensitive;
}

/**
 * Query inputs as they may be logged: values of sensitive features (and of FQNs the graph does not know,
 * which may be misspelt sensitive ones) become `"[REDACTED]"`; long columns are cut to their first rows.
 *
 * @example
 * loggableInputs({ 'user.id': [1], 'user.ssn': ['123'] }, graph); // { 'user.id': [1], 'user.ssn': '[REDACTED]' }
 */
export function loggableInputs(
  inputs: Readonly<Record<string, unknown>>,
  graph: GraphArtifact,
  maxRows = 5,
): Record<string, unknown> {
  const { sensitive, known } = featureSets(graph);
  const out: Record<string, unknown> = {};
  for (const [fqn, value] of Object.entries(inputs)) {
    if (sensitive.has(fqn) || !known.has(fqn)) out[fqn] = '[REDACTED]';
    else
      out[fqn] = Array.isArray(value) && value.length > maxRows ? [...value.slice(0, maxRows), '…'] : value;
  }
  return out;
}
