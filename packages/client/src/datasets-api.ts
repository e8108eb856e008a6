import { z } from 'zod';
import { environmentIdOf } from './catalog-api.ts';
import type { CallOptions, SlateClient } from './slate-client.ts';

/** What `submitOfflineQuery` sends (chalk.md §3.7); inputs are column-major. */
export interface OfflineQueryInput {
  /** Input columns (feature FQNs, optionally `__ts__` for each row's time), each of one length. */
  readonly inputs?: Readonly<Record<string, readonly unknown[]>>;
  /** A SQL query whose rows are the inputs (the spine), instead of `inputs`. */
  readonly spineSql?: string;
  readonly outputs: readonly string[];
  readonly recomputeFeatures?: boolean;
  readonly maxSamples?: number;
  readonly datasetName?: string;
  readonly tags?: readonly string[];
  readonly storeOnline?: boolean;
  readonly storeOffline?: boolean;
}

const RevisionSchema = z.looseObject({
  revision_id: z.string(),
  status: z.string(),
  num_partitions: z.number().nullish(),
  dataset_name: z.string().nullish(),
  dataset_id: z.string().nullish(),
});

/** Answer of `POST /v4/offline_query`: the dataset and its new revision. */
export const OfflineQuerySubmissionSchema = z.looseObject({
  dataset_id: z.string().nullish(),
  dataset_name: z.string().nullish(),
  revisions: z.array(RevisionSchema).min(1),
  errors: z.array(z.unknown()).nullish(),
});
export type OfflineQuerySubmission = z.infer<typeof OfflineQuerySubmissionSchema>;

/** Answer of `GET /v4/offline_query/:revision/status`: the revision's batch report. */
export const DatasetStatusSchema = z.looseObject({
  report: z.looseObject({
    operation_id: z.string(),
    status: z.string(),
    environment_id: z.string().nullish(),
    error: z.unknown().nullish(),
    all_errors: z.array(z.unknown()).nullish(),
    operation_metadata: z
      .looseObject({
        num_rows: z.number().nullish(),
        num_bytes: z.number().nullish(),
        num_partitions: z.number().nullish(),
        started_at: z.string().nullish(),
        terminated_at: z.string().nullish(),
      })
      .nullish(),
  }),
});
export type DatasetStatus = z.infer<typeof DatasetStatusSchema>['report'];

/** One offline query or run of an environment, as `GET /v1/environments/:id/jobs` lists it. */
export const BatchJobSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
  name: z.string().nullish(),
  status: z.string(),
  progress: z.number().nullish(),
  error: z.string().nullish(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
});
export type BatchJob = z.infer<typeof BatchJobSchema>;
const BatchJobPageSchema = z.looseObject({
  items: z.array(BatchJobSchema),
  next_cursor: z.string().nullish(),
});

/** Statuses after which a revision changes no more. */
export const FINISHED_DATASET_STATUSES: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED']);

/**
 * `POST /v4/offline_query` on the data plane: starts an offline query and answers its dataset and revision.
 * Needs `query.offline`.
 * @throws SlateError `input` (unknown features, bad inputs).
 * @example
 * const { revisions } = await submitOfflineQuery(client, { inputs: { 'user.id': [1, 2] }, outputs: ['user.name'] });
 */
export function submitOfflineQuery(
  client: SlateClient,
  input: OfflineQueryInput,
  options: CallOptions = {},
): Promise<OfflineQuerySubmission> {
  const columns = Object.keys(input.inputs ?? {});
  return client.request({
    method: 'POST',
    target: 'query',
    path: '/v4/offline_query',
    body: {
      ...(input.inputs
        ? { input: { columns, values: columns.map((column) => input.inputs?.[column] ?? []) } }
        : {}),
      ...(input.spineSql ? { spine_sql_query: input.spineSql } : {}),
      output: input.outputs,
      recompute_features: input.recomputeFeatures ?? false,
      ...(input.maxSamples === undefined ? {} : { max_samples: input.maxSamples }),
      ...(input.datasetName ? { dataset_name: input.datasetName } : {}),
      ...(input.tags ? { tags: input.tags } : {}),
      store_online: input.storeOnline ?? false,
      store_offline: input.storeOffline ?? false,
    },
    schema: OfflineQuerySubmissionSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** `GET /v4/offline_query/:revision/status`. @throws SlateError `not_found` (`DATASET_NOT_FOUND`). */
export async function getDatasetStatus(
  client: SlateClient,
  revisionId: string,
  options: CallOptions = {},
): Promise<DatasetStatus> {
  const answer = await client.request({
    method: 'GET',
    target: 'query',
    path: `/v4/offline_query/${encodeURIComponent(revisionId)}/status`,
    schema: DatasetStatusSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return answer.report;
}

/** `GET /v4/offline_query/:revision/parts/:n`: one result part's Parquet bytes. */
export function downloadDatasetPart(
  client: SlateClient,
  revisionId: string,
  part: number,
  options: CallOptions = {},
): Promise<Uint8Array> {
  return client.requestBytes({
    target: 'query',
    path: `/v4/offline_query/${encodeURIComponent(revisionId)}/parts/${part}`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * The environment's offline queries (datasets), most recently updated first, one page of
 * `GET /v1/environments/:id/jobs` (runs left out). Needs `deploy.read`.
 */
export async function listDatasets(
  client: SlateClient,
  options: CallOptions & { readonly limit?: number; readonly cursor?: string } = {},
): Promise<{ items: BatchJob[]; nextCursor: string | null }> {
  const id = await environmentIdOf(client, options);
  const query = new URLSearchParams({
    limit: String(options.limit ?? 50),
    ...(options.cursor ? { cursor: options.cursor } : {}),
  });
  const page = await client.request({
    method: 'GET',
    target: 'api',
    path: `/v1/environments/${encodeURIComponent(id)}/jobs?${query}`,
    schema: BatchJobPageSchema,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    items: page.items.filter((job) => job.kind === 'OFFLINE_QUERY'),
    nextCursor: page.next_cursor ?? null,
  };
}
