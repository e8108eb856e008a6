import type { DType } from '@slate/graph';

/**
 * The engine's query and result types. Columnar: `inputs` hold one array per feature with a value per
 * row, so a single online query is one row and a bulk query is many. Per-feature outcomes (missing,
 * failed, timed out) are data in the result, never exceptions.
 */
export interface EngineQuery {
  /** Input values by feature FQN, one array entry per row; every array has the same length. */
  readonly inputs: Readonly<Record<string, readonly unknown[]>>;
  /** Output feature FQNs, in the order results are wanted. */
  readonly outputs: readonly string[];
  /** Query time; defaults to when the query starts. */
  readonly now?: Date;
  /** Per-feature max-staleness overrides (`{ 'user.score': '10m' }`); `"0s"` forces recomputation. */
  readonly staleness?: Readonly<Record<string, string>>;
  readonly tags?: readonly string[];
  /** Every resolver chosen must carry all of these tags. */
  readonly requiredResolverTags?: readonly string[];
  readonly queryContext?: Readonly<Record<string, unknown>>;
  /** Absolute deadline (epoch ms) after which unfinished resolvers report `RESOLVER_TIMED_OUT`. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /**
   * The caller's `query_name` and `correlation_id`: labels the engine ignores, carried for whoever records
   * the query (the query log). A query name need not name a named query.
   */
  readonly labels?: { readonly queryName?: string; readonly correlationId?: string };
  /** `'offline'` lets offline resolvers run and prefers them (offline queries); default `'online'`. */
  readonly kind?: 'online' | 'offline';
}

export type ErrorCategory = 'REQUEST' | 'FIELD' | 'NETWORK';

/** An error in the seed product's wire shape (`code`, `category`, `message`, ...). */
export interface QueryError {
  readonly code: QueryErrorCode;
  readonly category: ErrorCategory;
  readonly message: string;
  readonly feature?: string;
  readonly resolver?: string;
  readonly exception?: { readonly kind: string; readonly message: string; readonly stacktrace: string };
}

export type QueryErrorCode =
  | 'PARSE_FAILED'
  | 'RESOLVER_NOT_FOUND'
  | 'INVALID_QUERY'
  | 'VALIDATION_FAILED'
  | 'RESOLVER_FAILED'
  | 'RESOLVER_TIMED_OUT'
  | 'UPSTREAM_FAILED'
  | 'UNAUTHENTICATED'
  | 'UNAUTHORIZED'
  | 'INTERNAL_SERVER_ERROR'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED';

/** One requested output, with a value (or error) per row. */
export interface OutputColumn {
  readonly fqn: string;
  /** `struct`: a has-one asked for as a whole, one object per row (see `dtype`). */
  readonly kind: 'scalar' | 'has_many' | 'struct';
  /** For has-many outputs: the namespace of the related rows. */
  readonly target?: string;
  /** For has-many outputs restricted to some of the related features (`user.transactions.amount`): their names. */
  readonly fields?: readonly string[];
  /** For struct outputs: the struct's type. */
  readonly dtype?: DType;
  /** Values per row: scalars as JS values (`Date` for datetimes), has-many as arrays of row objects. */
  readonly values: unknown[];
  /** When each value was observed (epoch ms), `null` when there is no value. */
  readonly observedAt: (number | null)[];
  readonly errors: (QueryError | null)[];
  /** Per row: whether the value came from the online store. */
  readonly cacheHits: boolean[];
  /** The resolver chosen to compute it; `null` for inputs or when none was found. */
  readonly resolver: string | null;
  /** The value's type as the seed product's clients print it, e.g. `<class 'str'>`. */
  readonly primitiveType: string | null;
  readonly version: number;
}

export interface EngineResult {
  readonly rowCount: number;
  /** One column per requested output that exists, in request order. */
  readonly columns: OutputColumn[];
  /** Request-level errors, plus every per-row field error flattened (with `feature`). */
  readonly errors: QueryError[];
  /** Hash of the plan's structure; `null` when the query could not be planned. */
  readonly queryHash: string | null;
  /** False when this query shape was planned for the first time. */
  readonly planCacheHit: boolean;
  /** A readable description of the plan. */
  readonly explain: string;
  /** Non-fatal notices, e.g. that a queried feature is deprecated. */
  readonly warnings: readonly string[];
}
