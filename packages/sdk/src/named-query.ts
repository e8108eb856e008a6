import type { AnyRef } from './feature-class.ts';

const namedQueryBrand = Symbol.for('slate.namedQuery');

export interface NamedQueryOptions {
  readonly name: string;
  readonly version?: string;
  readonly inputs: readonly AnyRef[];
  readonly outputs: readonly AnyRef[];
  readonly tags?: readonly string[];
  /** Per-feature staleness overrides, e.g. `{ 'user.score': '10m' }`. */
  readonly staleness?: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly owner?: string;
}

/** A query declared in code and invoked by `query_name` (+ `query_name_version`); planned when deployed. */
export interface NamedQuery {
  readonly [namedQueryBrand]: NamedQueryOptions;
}

/**
 * Declares a named query.
 *
 * @example
 * export const fraudCheck = namedQuery({ name: 'fraud_check', inputs: [User.id], outputs: [User.risk_score] });
 */
export function namedQuery(options: NamedQueryOptions): NamedQuery {
  return Object.freeze({ [namedQueryBrand]: Object.freeze({ ...options }) });
}

export function isNamedQuery(value: unknown): value is NamedQuery {
  return typeof value === 'object' && value !== null && namedQueryBrand in value;
}

export function namedQueryOptions(query: NamedQuery): NamedQueryOptions {
  return query[namedQueryBrand];
}
