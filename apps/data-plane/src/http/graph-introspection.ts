import type { GraphArtifact } from '@slate/graph';

/** The answer of `GET /v1/environment/graph` and `GET /v1/deployments/{id}/graph` (chalk.md §3.9). */
export interface GraphIntrospection {
  deployment_id: string;
  features: {
    fqn: string;
    name: string;
    detail: {
      namespace: string;
      kind: string;
      dtype: string | null;
      description: string | null;
      owner: string | null;
    };
    tags: string[];
    created_at: string | null;
    updated_at: string | null;
    etl_offline_to_online: boolean;
  }[];
  resolvers: {
    fqn: string;
    execution_kind: 'online' | 'offline' | 'stream' | 'sink';
    tags: string[];
    feature_inputs: string[];
    feature_outputs: string[];
    cron: string | null;
    updated_at: string | null;
  }[];
}

/**
 * Describes a deployment's graph in the seed product's introspection shape. Timestamps are the
 * deployment's activation time on this data plane when known (the graph itself carries none).
 */
export function introspectGraph(
  deploymentId: string,
  graph: GraphArtifact,
  activatedAt: string | null = null,
): GraphIntrospection {
  return {
    deployment_id: deploymentId,
    features: graph.namespaces.flatMap((namespace) =>
      namespace.features.map((feature) => ({
        fqn: feature.fqn,
        name: feature.name,
        detail: {
          namespace: namespace.name,
          kind: feature.kind,
          dtype: feature.kind === 'scalar' ? feature.dtype.type : null,
          description: feature.description ?? null,
          owner: feature.owner ?? namespace.owner ?? null,
        },
        tags: [...new Set([...namespace.tags, ...feature.tags])],
        created_at: activatedAt,
        updated_at: activatedAt,
        etl_offline_to_online: feature.kind === 'scalar' ? feature.etlOfflineToOnline : false,
      })),
    ),
    resolvers: graph.resolvers.map((resolver) => ({
      fqn: resolver.fqn,
      execution_kind: resolver.kind,
      tags: [...resolver.tags],
      feature_inputs: resolver.inputs.map((input) => input.fqn),
      feature_outputs: resolver.outputs.map((output) => output.fqn),
      cron: resolver.cron ?? null,
      updated_at: activatedAt,
    })),
  };
}
