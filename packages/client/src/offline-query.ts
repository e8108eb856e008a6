import type { JsonValue } from './online-query.ts';

/**
 * The body of `POST /v4/offline_query` (chalk.md §3.7) as the data plane reads it. `input` is column-major:
 * `values[i]` holds the column named `columns[i]`; rows come from `input`, or from `spine_sql_query` run
 * against the offline store. Only `output` is required besides one of them.
 */
export interface OfflineQueryRequest {
  readonly input?: {
    readonly columns: readonly string[];
    readonly values: readonly (readonly JsonValue[])[];
  };
  /** One ISO-8601 time per input row: each row is computed as of its time (default: now). */
  readonly input_times?: readonly string[];
  readonly spine_sql_query?: string;
  readonly output: readonly string[];
  readonly required_output?: readonly string[];
  /** Recompute with resolvers (`true`: every output) instead of sampling the offline store. */
  readonly recompute_features?: boolean | readonly string[];
  readonly max_samples?: number;
  readonly dataset_name?: string;
  readonly tags?: readonly string[];
  readonly store_online?: boolean;
  readonly store_offline?: boolean;
  readonly correlation_id?: string;
}

/** A query error as the offline endpoints report them. */
export interface OfflineQueryError {
  readonly code: string;
  readonly message: string;
  readonly category?: string | null;
  readonly feature?: string | null;
  readonly resolver?: string | null;
}

/** The status of one run of an offline query. */
export type OfflineQueryStatus = 'QUEUED' | 'WORKING' | 'COMPLETED' | 'FAILED';

/** One revision (run) of a dataset, as `POST /v4/offline_query` answers it. */
export interface OfflineQueryRevision {
  readonly revision_id: string;
  readonly environment_id: string;
  readonly outputs: readonly string[];
  readonly status: OfflineQueryStatus;
  readonly num_partitions: number;
  /** Signed links to the result parts (Parquet), fetched without credentials. */
  readonly output_uris: readonly string[];
  readonly num_bytes: number | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly terminated_at: string | null;
  readonly dataset_name: string | null;
  readonly dataset_id: string;
}

/** `POST /v4/offline_query`'s answer. */
export interface OfflineQueryResponse {
  readonly is_finished: boolean;
  readonly version: number;
  readonly dataset_id: string;
  readonly dataset_name: string | null;
  readonly environment_id: string;
  readonly revisions: readonly OfflineQueryRevision[];
  readonly errors: readonly OfflineQueryError[];
}

/** `GET /v2/offline_query/:revision`: whether it finished, its part links, errors and columns. */
export interface OfflineQueryResult {
  readonly is_finished: boolean;
  readonly version: number;
  readonly urls: readonly string[];
  readonly errors: readonly OfflineQueryError[];
  readonly columns: readonly string[];
}

/** `GET /v4/offline_query/:revision/status`: the batch report, with progress in `operation_metadata`. */
export interface OfflineQueryStatusReport {
  readonly report: {
    readonly operation_id: string;
    readonly status: OfflineQueryStatus;
    readonly error: OfflineQueryError | null;
    readonly all_errors: readonly OfflineQueryError[];
    readonly operation_metadata: {
      readonly num_rows: number | null;
      readonly num_bytes: number | null;
      readonly num_partitions: number;
      readonly heartbeat_at: string | null;
      readonly started_at: string | null;
      readonly terminated_at: string | null;
      readonly duration_ms: number | null;
      readonly attempt: number;
    };
  };
}
