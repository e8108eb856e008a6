import { z } from 'zod';

/** What starts a run: a cron tick, a person (`MANUAL`) or an API call (chalk.md §2.3 trigger kinds). */
export const RunTriggerKindSchema = z.enum(['CRON', 'MANUAL', 'API']);
export type RunTriggerKind = z.infer<typeof RunTriggerKindSchema>;

const isoDate = z.iso.datetime({ offset: true });

/**
 * The message that starts a resolver run, as the metadata plane's `scheduled-resolver-trigger` queue
 * would carry it (the data plane's own scheduler produces the same messages).
 */
export const RunTriggerMessageSchema = z.object({
  resolver_fqn: z.string().min(1),
  environment: z.string().min(1),
  lower_bound: isoDate.nullable().optional(),
  upper_bound: isoDate.nullable().optional(),
  max_samples: z.number().int().positive().nullable().optional(),
  idempotency_key: z.string().min(1).max(256).nullable().optional(),
  store_online: z.boolean().optional(),
  store_offline: z.boolean().optional(),
  trigger: RunTriggerKindSchema,
});
export type RunTriggerMessage = z.input<typeof RunTriggerMessageSchema>;
export type RunTriggerMessageOutput = z.output<typeof RunTriggerMessageSchema>;

/** `POST /v1/runs/trigger`'s body (chalk.md §3.9); the environment comes from the token. */
export const RunTriggerRequestSchema = RunTriggerMessageSchema.omit({ environment: true, trigger: true });
export type RunTriggerRequest = z.input<typeof RunTriggerRequestSchema>;

/**
 * `received` → `running` → `succeeded` | `failed` | `canceled`. A run whose replica died while it ran is
 * taken over by another replica once its heartbeat (and lease) is older than the service's timeout: it
 * stays `running` with `attempt` + 1 and the new `instance`; after its last attempt it is `failed`
 * (error `RUN_ABANDONED: …`).
 */
export const RunStatusSchema = z.enum(['received', 'running', 'succeeded', 'failed', 'canceled']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** A run as persisted and as `GET /v1/runs/{id}` returns it. */
export const RunRecordSchema = z.object({
  id: z.string(),
  environment: z.string(),
  resolver_fqn: z.string(),
  deployment_id: z.string().nullable(),
  trigger: RunTriggerKindSchema,
  status: RunStatusSchema,
  lower_bound: z.string().nullable(),
  upper_bound: z.string().nullable(),
  max_samples: z.number().nullable(),
  idempotency_key: z.string().nullable(),
  store_online: z.boolean(),
  store_offline: z.boolean(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** Entities (rows) the run read. */
  rows: z.number().int().nonnegative(),
  /** Feature values it published. */
  values: z.number().int().nonnegative(),
  /** The incremental high-water mark the run started from and reached. */
  high_water_from: z.string().nullable(),
  high_water_to: z.string().nullable(),
  error: z.string().nullable(),
  /** Last sign of life of the data plane running it (written every few seconds while `running`). */
  heartbeat_at: z.string().nullable().default(null),
  /** When a cancel was asked for (the run then stops between batches). */
  cancel_requested_at: z.string().nullable().default(null),
  /** 1 for the first run; each take-over after the replica running it stopped adds one. */
  attempt: z.number().int().positive().default(1),
  /** The data-plane instance (replica) running it, or that ran it last. */
  instance: z.string().nullable().default(null),
  /**
   * The checkpoint: batches published and on the result bus. A take-over reads the same pages again and
   * publishes from this batch on, under the same message ids (`run:<id>:<batch>:…`), so nothing is
   * written twice.
   */
  chunks: z.number().int().nonnegative().default(0),
  /**
   * The instant the run reads at (`${now}` of SQL resolvers, freshness of online values), fixed by its
   * first attempt so that a take-over reads and writes the same values.
   */
  scan_at: z.string().nullable().default(null),
  /**
   * The incremental state the first attempt started from (null before it read it, and for resolvers
   * without one): a take-over starts from it rather than from the state as it is by then.
   */
  incremental_start: z
    .object({ high_water: z.string().nullable(), last_execution_at: z.string().nullable() })
    .nullable()
    .default(null),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** `GET /v1/runs` filters and page (newest first). */
export const RunListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** The `next_cursor` of the previous page. */
  cursor: z.string().min(1).max(200).optional(),
  resolver_fqn: z.string().min(1).optional(),
  status: RunStatusSchema.optional(),
});
export type RunListQuery = z.input<typeof RunListQuerySchema>;

/** A page of runs and the cursor of the next one (`null` on the last page). */
export interface RunPage {
  readonly runs: RunRecord[];
  readonly next_cursor: string | null;
}

/**
 * `PUT /v1/runs/incremental/{resolver_fqn}`: where the resolver's next incremental run starts (chalk's
 * `chalk incremental set`). `high_water` is an ISO time or a number; omitted fields keep their value.
 */
export const IncrementalStateRequestSchema = z
  .object({
    high_water: z.union([isoDate, z.number().finite()]).nullable().optional(),
    last_execution_at: isoDate.nullable().optional(),
  })
  .strict();
export type IncrementalStateRequest = z.input<typeof IncrementalStateRequestSchema>;
