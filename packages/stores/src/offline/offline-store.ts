import type { DType } from '@slate/graph';

/**
 * The offline store: every observed feature value, kept for point-in-time reads (training sets, offline
 * queries). Values are immutable observations; nothing is updated in place.
 *
 * Semantics every backend shares (checked by `runOfflineStoreConformance` from `@slate/stores/conformance`):
 * - **Atomic, idempotent commits.** `write` makes its batches visible all at once or not at all (a crash
 *   mid-write leaves nothing visible), and skips a batch whose id was committed before, so a redelivered
 *   message never duplicates rows, however it is grouped with others.
 * - **Point in time.** For an input row (primary key, time `T`), a feature's value is that of the
 *   observation of that key with the greatest `observedAt <= T`, ties broken by the greatest `insertedAt`,
 *   then by write order: the later `write` call, the later batch of a call, the later observation of a
 *   batch wins, as the online store keeps the last of equal timestamps (a late-arriving, backdated value
 *   counts from its `observedAt`); `null` when there is none, or when that observation is older than
 *   `T - ttlMs`. `lowerBound`/`upperBound` restrict observations by `observedAt`.
 * - Environments never see each other's observations.
 */
export interface OfflineStore {
  readonly capabilities: OfflineStoreCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;
  /**
   * Commits batches of observations at once, skipping every batch whose id was committed before; resolves
   * with the number of batches written.
   */
  write(environment: string, batches: readonly OfflineBatch[], signal?: AbortSignal): Promise<number>;
  /**
   * Commits batches of rows of a record table (`query_log`, `usage`, ...), idempotent by batch id like
   * `write`; each row is any JSON object.
   */
  appendRecords(
    environment: string,
    table: string,
    batches: readonly RecordBatch[],
    signal?: AbortSignal,
  ): Promise<number>;
  /** Every committed row of a record table, in commit order. */
  readRecords(environment: string, table: string, signal?: AbortSignal): Promise<Record<string, unknown>[]>;
  /** Samples features point-in-time for every spine row (see the interface notes). */
  sample(environment: string, request: SampleRequest, signal?: AbortSignal): Promise<SampleResult>;
  /** Every committed observation of the given features (all features when omitted), for inspection. */
  scan(environment: string, options?: ScanOptions): Promise<StoredObservation[]>;
  /** Merges small files; readers are never shown a half-compacted state. */
  compact(environment: string, signal?: AbortSignal): Promise<CompactionResult>;
  /**
   * Erases every observation of the given features (all primary keys, all times) inserted at or before
   * `insertedBefore` (epoch ms; default: now), at once: readers see all of them or none of them gone.
   * Idempotent, and values inserted after `insertedBefore` are kept, so replaying a drop (a redelivered
   * bus message) never erases later writes. Record tables are not touched.
   *
   * @throws SlateError `input`/`INVALID_FEATURE` for a malformed feature name.
   */
  dropFeatures(environment: string, features: readonly string[], options?: DropOptions): Promise<DropResult>;
}

/** Options of `OfflineStore.dropFeatures`. */
export interface DropOptions {
  /** Only observations inserted at or before this time (epoch ms) are erased; default: now. */
  readonly insertedBefore?: number;
  readonly signal?: AbortSignal;
}

/** What `OfflineStore.dropFeatures` erased. */
export interface DropResult {
  /** Observations erased. */
  readonly rows: number;
  /** Data files rewritten (or removed, when every row went). */
  readonly files: number;
}

export interface OfflineStoreCapabilities {
  /** Observations survive a restart. */
  readonly persistent: boolean;
}

/** One observed value. */
export interface Observation {
  /** Fully qualified feature name, `<namespace>.<name>`. */
  readonly feature: string;
  /** The primary key's string form. */
  readonly pkey: string;
  /** Any JSON value (stored as JSON text). */
  readonly value: unknown;
  /** When the value was true (epoch ms): the feature time. */
  readonly observedAt: number;
  /** When it was written (epoch ms); breaks ties between equal `observedAt`. */
  readonly insertedAt: number;
  readonly resolver?: string | null;
  readonly deploymentId?: string | null;
  readonly queryId?: string | null;
}

export interface StoredObservation extends Observation {
  /** Unique per stored row: its batch id and its index in the batch. */
  readonly observationId: string;
}

export interface OfflineBatch {
  /** The id of the message (or upload) this batch holds: the unit of idempotency. */
  readonly id: string;
  readonly observations: readonly Observation[];
}

export interface RecordBatch {
  readonly id: string;
  readonly rows: readonly Record<string, unknown>[];
}

/** A requested feature of a sample. */
export interface SampledFeature {
  readonly fqn: string;
  /** Observations older than `T - ttlMs` do not count; `null` = no limit. */
  readonly ttlMs: number | null;
  /** When given, the value column is typed accordingly in Parquet output (JSON text otherwise). */
  readonly dtype?: DType;
}

export interface SampleRequest {
  /** The input rows: primary keys and times (epoch ms), aligned; or a local Parquet file with columns `pkey` (text) and `ts` (timestamp). */
  readonly spine:
    | { readonly pkeys: readonly string[]; readonly times: readonly number[] }
    | { readonly parquet: string };
  readonly features: readonly SampledFeature[];
  /** Only observations with `observedAt >= lowerBound` count. */
  readonly lowerBound?: number;
  /** Only observations with `observedAt <= upperBound` count. */
  readonly upperBound?: number;
  /**
   * Write the result to this local Parquet file instead of returning it: columns `__row__`, `pkey`, `__ts__`,
   * then per feature `<fqn>` and `<fqn>.__observed_at__`, in spine order.
   */
  readonly output?: {
    readonly parquet: string;
    /** Name of the primary-key column (e.g. `user.id`). Default `pkey`. */
    readonly keyColumn?: string;
  };
}

/** Sampled columns, aligned with the spine; empty when the result went to a file. */
export interface SampleResult {
  readonly rowCount: number;
  readonly columns: readonly SampledColumn[];
}

export interface SampledColumn {
  readonly fqn: string;
  readonly values: unknown[];
  readonly observedAt: (number | null)[];
}

export interface ScanOptions {
  readonly features?: readonly string[];
}

export interface CompactionResult {
  /** Files merged away. */
  readonly merged: number;
  /** Files written in their place. */
  readonly written: number;
}
