/**
 * The online store: the low-latency cache of feature values that online queries read before running
 * resolvers. One key per (environment, feature, primary key), so a query for one entity's 100 features is
 * one multi-get.
 *
 * Semantics every backend shares (checked by `runOnlineStoreConformance` from `@slate/stores/conformance`):
 * - Values are stored as JSON: a JSON value (number, string, boolean, null, array, object) reads back
 *   equal; anything else reads back as `JSON.stringify` would render it (`undefined` becomes `null`).
 * - A primary key is compared by its string form: `1` and `'1'` name the same value.
 * - Environments never see each other's values.
 * - Invalid arguments (an empty environment or feature name, a non-finite `observedAt`, a `ttlMs` that is
 *   not a positive number) throw `SlateError` of kind `input`.
 * - When `signal` is already aborted, or aborts before the call settles, the call rejects with
 *   `signal.reason`; a write the backend already received may still be applied.
 */
export interface OnlineStore {
  readonly capabilities: OnlineStoreCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;
  /**
   * Reads many values in one round trip. The result is aligned with `keys`; a missing or expired value is
   * `null`.
   */
  get(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal): Promise<(StoredValue | null)[]>;
  /**
   * Writes many values in one round trip. A value whose `observedAt` is older than the stored one is
   * ignored: a backdated write never overwrites a newer value. On equal `observedAt` the later write wins
   * (so re-running a resolver for the same instant refreshes the value). Entries for the same key within
   * one call apply in order. `ttlMs` (when given) expires the value; a write without `ttlMs` stores a value
   * that never expires, replacing any earlier expiry.
   */
  set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal): Promise<void>;
  /**
   * Deletes values; deleting a missing key is not an error. The timestamp goes with the value: a later
   * write with any `observedAt` is stored.
   */
  delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal): Promise<void>;
  /** Deletes every value of the given features in one environment (all primary keys). */
  dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal): Promise<void>;
}

/** What a backend offers beyond the contract, so callers decide up front rather than fail at run time. */
export interface OnlineStoreCapabilities {
  /** Values survive a process restart. */
  readonly persistent: boolean;
  /** Readable by several processes at once. */
  readonly shared: boolean;
}

/** Identifies one value: a feature (fully qualified, e.g. `user.name`) of one entity. */
export interface OnlineKey {
  readonly feature: string;
  readonly pkey: string | number;
}

/** A stored value: any JSON value, and when it was observed (epoch milliseconds). */
export interface StoredValue {
  readonly value: unknown;
  readonly observedAt: number;
}

/** One value to write; `ttlMs` (milliseconds, > 0) expires it that long after the write. */
export interface OnlineEntry extends OnlineKey, StoredValue {
  readonly ttlMs?: number;
}
