/**
 * The online store: the low-latency cache of feature values that online queries read before running
 * resolvers. One key per (environment, feature, primary key), so a query for one entity's 100 features is
 * one multi-get.
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
   * ignored: a backdated write never overwrites a newer value. `ttlMs` (when given) expires the value.
   */
  set(environment: string, entries: readonly OnlineEntry[], signal?: AbortSignal): Promise<void>;
  /** Deletes values; deleting a missing key is not an error. */
  delete(environment: string, keys: readonly OnlineKey[], signal?: AbortSignal): Promise<void>;
  /** Deletes every value of the given features in one environment (all primary keys). */
  dropFeatures(environment: string, features: readonly string[], signal?: AbortSignal): Promise<void>;
}

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

export interface OnlineEntry extends OnlineKey, StoredValue {
  readonly ttlMs?: number;
}
