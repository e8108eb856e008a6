import { type GraphArtifact, GraphArtifactSchema } from '@slate/graph';

/** A feature in short: its FQN, and whatever the test cares about (kind `scalar` and a dtype by default). */
export type FeatureShorthand = { readonly fqn: string } & Record<string, unknown>;

/** A resolver in short: inputs and outputs may be bare FQNs. */
export type ResolverShorthand = {
  readonly fqn: string;
  readonly kind: 'online' | 'offline';
  readonly inputs: readonly (string | Record<string, unknown>)[];
  readonly outputs: readonly (string | Record<string, unknown>)[];
} & Record<string, unknown>;

const lastPart = (fqn: string) => fqn.slice(fqn.lastIndexOf('.') + 1);

/**
 * A graph artifact exactly as the metadata plane serves it (parsed by `@slate/graph`'s schema, defaults
 * filled), written in short: a feature's name and namespace come from its FQN, a scalar without a dtype is
 * `int` when it is an `id` and `string` otherwise, a bare input or output FQN gets its parameter name, a
 * resolver's namespace is its first output's, and a SQL resolver without a query gets `select 1`.
 *
 * @throws ZodError when the short form still misses something the artifact requires.
 */
export function graphFixture(graph: {
  readonly namespaces: readonly {
    readonly name: string;
    readonly primaryKey: string;
    readonly features: readonly FeatureShorthand[];
  }[];
  readonly resolvers: readonly ResolverShorthand[];
}): GraphArtifact {
  return GraphArtifactSchema.parse({
    version: 1,
    namespaces: graph.namespaces.map((ns) => ({
      ...ns,
      features: ns.features.map((f) => {
        const kind = f.kind ?? 'scalar';
        return {
          name: lastPart(f.fqn),
          namespace: ns.name,
          kind,
          ...(kind === 'scalar' && f.dtype === undefined
            ? { dtype: { type: lastPart(f.fqn) === 'id' ? 'int' : 'string' } }
            : {}),
          ...f,
        };
      }),
    })),
    resolvers: graph.resolvers.map((r) => {
      const outputs = r.outputs.map((o) => (typeof o === 'string' ? { param: lastPart(o), fqn: o } : o));
      const first = outputs[0]?.fqn;
      return {
        namespace: typeof first === 'string' ? first.slice(0, first.indexOf('.')) : 'unknown',
        ...r,
        inputs: r.inputs.map((i) =>
          typeof i === 'string' ? { type: 'feature', param: lastPart(i), fqn: i } : i,
        ),
        outputs,
        ...(r.sql ? { sql: { query: 'select 1', ...(r.sql as object) } } : {}),
      };
    }),
  });
}
