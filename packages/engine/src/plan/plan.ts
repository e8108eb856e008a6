import type { FeatureSpec, ResolverSpec } from '@slate/graph';
import type { QueryError } from '../query.ts';

/**
 * A query plan: immutable, cached per query shape, shared by every query of that shape. Steps form a DAG
 * through `dependsOn`; the executor runs a step once all its dependencies finished.
 */
export interface Plan {
  /** Stable hash of the plan's structure (the `query_hash` of responses). */
  readonly hash: string;
  readonly steps: readonly ResolverStep[];
  /** How each requested output is obtained, in request order. */
  readonly outputs: readonly PlannedOutput[];
  /** Request-level errors found while planning (unknown inputs or outputs). */
  readonly errors: readonly QueryError[];
  /** Features the step for which is unavailable, with the reason (reported per output). */
  readonly unresolvable: ReadonlyMap<string, QueryError>;
  readonly explain: string;
}

export type PlannedOutput =
  | { readonly kind: 'input'; readonly feature: FeatureSpec }
  | { readonly kind: 'step'; readonly feature: FeatureSpec; readonly step: number }
  | { readonly kind: 'unresolvable'; readonly feature: FeatureSpec; readonly error: QueryError };

export interface ResolverStep {
  readonly index: number;
  readonly resolver: ResolverSpec;
  /** Indices of steps producing this step's inputs. */
  readonly dependsOn: readonly number[];
  /** Seconds each output may be served from the online store (0 = always compute, null = forever). */
  readonly maxStalenessS: ReadonlyMap<string, number | null>;
  /** FQN of the primary key the online-store keys of this step's outputs use. */
  readonly primaryKey: string;
  /** For has-many inputs: the target features to fill in when a relation's rows lack them. */
  readonly subqueries: readonly HasManySubquery[];
}

export interface HasManySubquery {
  readonly param: string;
  readonly relation: string;
  readonly target: string;
  readonly features: readonly string[];
}
