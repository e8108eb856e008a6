import type { GraphIndex } from '@slate/engine';
import { didYouMean, SlateError } from '@slate/graph';
import { z } from 'zod';

/**
 * `POST /v1/features/drop`: what `slate drop` (the seed product's `chalk drop`) sends. `features` are FQNs
 * (or names in `namespace`); with only `namespace`, every scalar feature of it.
 */
export const DropFeaturesRequestSchema = z
  .object({
    namespace: z.string().min(1).max(200).nullish(),
    features: z.array(z.string().min(1).max(400)).max(1000).nullish(),
    retain_offline: z.boolean().nullish(),
    retain_online: z.boolean().nullish(),
  })
  .refine((body) => body.namespace || (body.features && body.features.length > 0), {
    message: 'name the features to drop (features) or their namespace (namespace)',
  })
  .refine((body) => !(body.retain_offline && body.retain_online), {
    message: 'retain_offline and retain_online together leave nothing to drop',
  });
export type DropFeaturesRequest = z.infer<typeof DropFeaturesRequestSchema>;

/**
 * The scalar features a drop names, checked against the active deployment's graph, in request order and
 * without repeats.
 *
 * @throws SlateError `input`/`INVALID_QUERY` for an unknown namespace or feature (with a did-you-mean), a
 * relationship (it stores no values of its own), or a feature outside `namespace`.
 */
export function featuresToDrop(index: GraphIndex, body: DropFeaturesRequest): string[] {
  const namespaces = [...index.namespaces.keys()];
  const namespaceOf = (name: string) => {
    const namespace = index.namespaces.get(name);
    if (!namespace)
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `no feature namespace '${name}'${didYouMean(name, namespaces)}`,
      );
    return namespace;
  };
  if (!body.features || body.features.length === 0) {
    return namespaceOf(body.namespace!)
      .features.filter((f) => f.kind === 'scalar')
      .map((f) => f.fqn);
  }
  const fqns = body.features.map((name) =>
    name.includes('.') || !body.namespace ? name : `${body.namespace}.${name}`,
  );
  for (const fqn of fqns) {
    const dot = fqn.indexOf('.');
    if (dot < 0)
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `'${fqn}' is not a feature name: use <namespace>.<feature> (or pass its namespace)`,
      );
    const namespace = namespaceOf(fqn.slice(0, dot));
    if (body.namespace && namespace.name !== body.namespace)
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `'${fqn}' is not a feature of the namespace '${body.namespace}'`,
      );
    const feature = index.features.get(fqn);
    if (!feature)
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `'${namespace.name}' has no feature '${fqn.slice(dot + 1)}'${didYouMean(
          fqn,
          namespace.features.map((f) => f.fqn),
        )}`,
      );
    if (feature.kind !== 'scalar')
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `'${fqn}' is a relationship: drop the related namespace's own features instead`,
      );
  }
  return [...new Set(fqns)];
}
