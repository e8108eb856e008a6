import { z } from 'zod';

const isoTime = z.union([z.iso.datetime({ offset: true }), z.iso.datetime()]);

/**
 * `POST /v4/offline_query` as the seed product's clients send it (chalk.md §3.7). `input` is column-major:
 * `values[i]` holds the column named `columns[i]`. Input times come from `input_times` (one per row) or a
 * `__ts__` / `__chalk__.CHALK_TS` input column; rows without one are sampled at the time of the request.
 * Unknown fields are ignored.
 */
export const OfflineQueryRequestSchema = z.object({
  input: z
    .object({
      columns: z.array(z.string().min(1)),
      values: z.array(z.array(z.unknown())),
    })
    .nullish(),
  input_times: z.array(isoTime).nullish(),
  spine_sql_query: z.string().nullish(),
  output: z.array(z.string().min(1)).default([]),
  required_output: z.array(z.string().min(1)).default([]),
  recompute_features: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  observed_at_lower_bound: isoTime.nullish(),
  observed_at_upper_bound: isoTime.nullish(),
  max_samples: z.number().int().positive().nullish(),
  dataset_name: z.string().min(1).nullish(),
  tags: z.array(z.string()).nullish(),
  required_resolver_tags: z.array(z.string()).nullish(),
  correlation_id: z.string().nullish(),
  query_context: z.record(z.string(), z.unknown()).nullish(),
  store_online: z.boolean().default(false),
  store_offline: z.boolean().default(false),
  job_id: z.string().nullish(),
  branch: z.string().nullish(),
});
export type OfflineQueryRequest = z.infer<typeof OfflineQueryRequestSchema>;

/** Names the input-time column may carry. */
export const INPUT_TIME_COLUMNS = ['__ts__', '__chalk__.CHALK_TS'] as const;
