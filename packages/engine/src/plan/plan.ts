import type { ExprNode, FeatureSpec, HasOneFeatureSpec, ResolverSpec } from '@slate/graph';
import type { QueryError } from '../query.ts';

/**
 * A query plan: immutable, cached per query shape, shared by every query of that shape. Steps form a DAG
 * through `dependsOn`; the executor runs a step once all its dependencies finished.
 */
export interface Plan {
  /** Stable hash of the plan's structure (the `query_hash` of responses). */
  readonly hash: string;
  readonly steps: readonly ResolverStep[];
  /** How each requested output is obtained, in request order (a windowed bare name expands to every window). */
  readonly outputs: readonly PlannedOutput[];
  /** Request-level errors found while planning (unknown inputs or outputs). */
  readonly errors: readonly QueryError[];
  /** Features the step for which is unavailable, with the reason (reported per output). */
  readonly unresolvable: ReadonlyMap<string, QueryError>;
  /** Canonical FQN of each input, by the name the query used (`user.score` → `user.score@2`). */
  readonly inputs: ReadonlyMap<string, string>;
  /**
   * For a query with no inputs: the `total` data-frame resolver whose rows are the query's rows (one per
   * entity it returns).
   */
  readonly rowSource?: ResolverSpec;
  /** Deprecation warnings for the features the query names. */
  readonly warnings: readonly string[];
  readonly explain: string;
}

export type PlannedOutput = (
  | { readonly kind: 'input'; readonly feature: FeatureSpec }
  | { readonly kind: 'step'; readonly feature: FeatureSpec; readonly step: number }
  /** No resolver, but the feature declares a default: the default is the value. */
  | { readonly kind: 'default'; readonly feature: FeatureSpec }
  | { readonly kind: 'unresolvable'; readonly feature: FeatureSpec; readonly error: QueryError }
) & {
  /** The column's name: what the query asked for (`user.score`, `user.profile.email`, a window FQN). */
  readonly name: string;
  /** The canonical FQN the value is computed under. */
  readonly fqn: string;
};

/** A step's input or output, by the resolver's parameter name and the canonical feature FQN. */
export interface StepInput {
  readonly type: 'feature' | 'has_many';
  readonly param: string;
  readonly fqn: string;
}

export interface StepOutput {
  readonly param: string;
  readonly fqn: string;
  /** The feature computed (for a has-one path: the feature at its end). */
  readonly feature: FeatureSpec;
}

/**
 * One step of a plan. `kind` says how it computes: a user `resolver` (through the runtime), an
 * `expression` feature (interpreted by the engine), a `traversal` of a has-one relationship (a nested
 * query in the related namespace), or `stored`: a feature no resolver in scope produces, whose values reach
 * the online store only by upload (reference §1.8), read from the store by primary key (a miss answers
 * `RESOLVER_NOT_FOUND`, or the feature's default). Every step carries a `resolver` spec (synthesized for expressions and
 * traversals) so explain output and meta name it uniformly.
 */
export interface ResolverStep {
  readonly index: number;
  readonly kind: 'resolver' | 'expression' | 'traversal' | 'stored';
  readonly resolver: ResolverSpec;
  readonly inputs: readonly StepInput[];
  readonly outputs: readonly StepOutput[];
  /** Indices of steps producing this step's inputs. */
  readonly dependsOn: readonly number[];
  /** The outputs the query uses (requested, or inputs of other steps); the cache is judged on these. */
  readonly needed: ReadonlySet<string>;
  /** Seconds each output may be served from the online store (0 = always compute, null = forever). */
  readonly maxStalenessS: ReadonlyMap<string, number | null>;
  /** Seconds each computed output stays in the online store (its declared max staleness; 0 = not written). */
  readonly writeTtlS: ReadonlyMap<string, number | null>;
  /** FQN of the primary key the online-store keys of this step's outputs use. */
  readonly primaryKey: string;
  /** FQN of the namespace's feature-time feature: when a step outputs it, it dates the row's values. */
  readonly featureTime?: string;
  /** For has-many inputs: the target features to fill in when a relation's rows lack them. */
  readonly subqueries: readonly HasManySubquery[];
  /** For `expression` steps. */
  readonly expression?: {
    readonly node: ExprNode;
    /** The window a windowed feature computes (seconds; `null` for "all"). */
    readonly windowSeconds?: number | null;
  };
  /** For `traversal` steps: the relationship followed; outputs' params are paths in its target namespace. */
  readonly traversal?: HasOneFeatureSpec;
}

export interface HasManySubquery {
  readonly param: string;
  readonly relation: string;
  readonly target: string;
  readonly features: readonly string[];
}
