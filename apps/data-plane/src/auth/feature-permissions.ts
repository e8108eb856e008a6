import type { Engine, QueryError } from '@slate/engine';
import { z } from 'zod';

/**
 * A service token's feature-level rules (the access token's `feature_permissions` claim): by feature tag,
 * ALLOW or DENY, else `default`. A DENY on any of a feature's tags wins over an ALLOW on another.
 */
export const FeaturePermissionsSchema = z.object({
  default: z.enum(['ALLOW', 'DENY']).default('ALLOW'),
  tags: z.record(z.string(), z.enum(['ALLOW', 'DENY'])).default({}),
});
export type FeaturePermissions = z.infer<typeof FeaturePermissionsSchema>;

/** Why a feature with these tags is refused, or `null` when the rules allow it. */
export function refusalOf(rules: FeaturePermissions, tags: readonly string[]): { tag: string | null } | null {
  const denied = tags.find((tag) => rules.tags[tag] === 'DENY');
  if (denied !== undefined) return { tag: denied };
  if (tags.some((tag) => rules.tags[tag] === 'ALLOW')) return null;
  return rules.default === 'DENY' ? { tag: null } : null;
}

/**
 * The engine as a token with feature rules may use it: refused outputs are left out of the query and
 * reported as `UNAUTHORIZED` errors (with the seed product's message); the other outputs are answered.
 * Rules apply to what a query returns, not to the intermediate features computed on the way.
 */
export function withFeaturePermissions(engine: Engine, rules: FeaturePermissions): Engine {
  return {
    ...engine,
    async query(query) {
      const refused: QueryError[] = [];
      const outputs = query.outputs.filter((fqn) => {
        const feature = engine.planner.index.features.get(fqn);
        const refusal = feature ? refusalOf(rules, feature.tags) : null;
        if (!refusal) return true;
        refused.push({
          code: 'UNAUTHORIZED',
          category: 'NETWORK',
          feature: fqn,
          message:
            refusal.tag === null
              ? `Feature '${fqn}' is not authorized for this environment`
              : `Feature '${fqn}' is not authorized for this environment for tag ${refusal.tag}`,
        });
        return false;
      });
      if (refused.length === 0) return engine.query(query);
      const result = await engine.query({ ...query, outputs });
      return { ...result, errors: [...refused, ...result.errors] };
    },
  };
}
