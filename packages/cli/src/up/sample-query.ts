import type { GraphArtifact } from '@slate/graph';

/** The online query `slate up` runs to show that the deployment answers. */
export interface SampleQuery {
  /** The primary key FQN and the value asked for, e.g. `{ 'user.id': 1 }`. */
  readonly inputs: Readonly<Record<string, number | string>>;
  readonly outputs: readonly string[];
  /** How the answer is introduced: `user 1`. */
  readonly entity: string;
}

/** The quickstart's sample: it reads every kind of feature the example has (SQL, has-many, expressions). */
const quickstartOutputs = [
  'user.name',
  'user.email_domain',
  'user.transaction_count',
  'user.total_spend',
  'user.risk_score',
];

/** At most this many features in a chosen sample (the answer is printed one per line). */
const maxOutputs = 5;

/**
 * Chooses the sample query from the deployed graph: the quickstart's own sample when the graph has all of
 * its features; otherwise the feature class with the most scalar features that an online resolver computes
 * from the primary key alone (ties: by name), asked for entity `1` (`'1'` for a string key), up to five of
 * those features in resolver order. `undefined` when no class has such a feature.
 *
 * @example
 * chooseSampleQuery(artifact); // { inputs: { 'customer.id': 1 }, outputs: ['customer.name', …], entity: 'customer 1' }
 */
export function chooseSampleQuery(artifact: GraphArtifact): SampleQuery | undefined {
  const scalars = new Map<string, string>();
  for (const ns of artifact.namespaces)
    for (const feature of ns.features)
      if (feature.kind === 'scalar') scalars.set(feature.fqn, feature.dtype.type);
  if (quickstartOutputs.every((fqn) => scalars.has(fqn)) && scalars.get('user.id') === 'int')
    return { inputs: { 'user.id': 1 }, outputs: quickstartOutputs, entity: 'user 1' };

  const candidates = artifact.namespaces.map((ns) => {
    const outputs: string[] = [];
    for (const resolver of artifact.resolvers) {
      const fromKey =
        resolver.kind === 'online' &&
        resolver.inputs.length > 0 &&
        resolver.inputs.every((input) => input.type === 'feature' && input.fqn === ns.primaryKey);
      if (!fromKey) continue;
      for (const output of resolver.outputs) {
        if (output.fqn !== ns.primaryKey && scalars.has(output.fqn) && !outputs.includes(output.fqn))
          outputs.push(output.fqn);
      }
    }
    return { ns, outputs };
  });
  const best = candidates
    .filter((candidate) => candidate.outputs.length > 0)
    .sort((a, b) => b.outputs.length - a.outputs.length || a.ns.name.localeCompare(b.ns.name))[0];
  if (!best) return undefined;
  const key = scalars.get(best.ns.primaryKey) === 'string' ? '1' : 1;
  return {
    inputs: { [best.ns.primaryKey]: key },
    outputs: best.outputs.slice(0, maxOutputs),
    entity: `${best.ns.name} ${key}`,
  };
}
