import type { ResolverSpec } from '@slate/graph';
import type { QueryShape } from './planner.ts';

/** Which resolvers a query may use, and which of several wins: the seed product's scoping rules. */
export interface ResolverScope {
  /**
   * In scope: offline resolvers only in offline queries; its environments include the planner's (or it
   * names none); every tag it carries matches a query tag (`key` matches `key:value`); it carries every
   * `requiredResolverTags`.
   */
  inScope(resolver: ResolverSpec): boolean;
  /** Environment-bound over generic, tagged over untagged, the query's kind over the other, per-row over data-frame. */
  specificity(resolver: ResolverSpec): number;
}

/** The resolver scope of one query shape in one environment (and its other names). */
export function resolverScope(environments: ReadonlySet<string>, shape: QueryShape): ResolverScope {
  return {
    inScope: (resolver) =>
      (shape.kind === 'offline' || resolver.kind === 'online') &&
      (resolver.environments.length === 0 || resolver.environments.some((env) => environments.has(env))) &&
      resolver.tags.every((tag) =>
        shape.tags.some((given) => given === tag || given.startsWith(`${tag}:`)),
      ) &&
      shape.requiredResolverTags.every((tag) => resolver.tags.includes(tag)),
    specificity: (resolver) =>
      (resolver.environments.length > 0 ? 8 : 0) +
      (resolver.tags.length > 0 ? 4 : 0) +
      (resolver.kind === shape.kind ? 2 : 0) +
      (resolver.dataframe === undefined ? 1 : 0),
  };
}
