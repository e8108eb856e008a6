import { RUN_STATUSES, type RunStatus } from '@slate/graph';
import { z } from 'zod';

/** Statuses a resolver run moves through (defined in `@slate/graph`, re-exported for the client's users). */
export { RUN_STATUSES, type RunStatus };

/** A run that will not change any more. */
export const FINISHED_RUN_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * A resolver run as the data plane reports it (`GET /v1/runs/{id}`, chalk.md §3.9). Unknown fields are
 * kept; `status` is read as text so a newer data plane's statuses do not break older clients.
 */
export const RunSchema = z.looseObject({
  id: z.string(),
  resolver_fqn: z.string(),
  status: z.string(),
  trigger: z.string().nullish(),
  environment_id: z.string().nullish(),
  deployment_id: z.string().nullish(),
  lower_bound: z.string().nullish(),
  upper_bound: z.string().nullish(),
  max_samples: z.number().nullish(),
  idempotency_key: z.string().nullish(),
  created_at: z.string(),
  started_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  /** Entities read so far. */
  rows: z.number().default(0),
  /** Feature values published so far. */
  values: z.number().default(0),
  high_water_from: z.string().nullish(),
  high_water_to: z.string().nullish(),
  error: z.string().nullish(),
  heartbeat_at: z.string().nullish(),
  cancel_requested_at: z.string().nullish(),
});
export type Run = z.infer<typeof RunSchema>;

/** A page of `GET /v1/runs`, newest first. */
export const RunPageSchema = z.looseObject({
  runs: z.array(RunSchema),
  next_cursor: z.string().nullish(),
});
export type RunPage = z.infer<typeof RunPageSchema>;

/** What `triggerRun` asks for (`POST /v1/runs/trigger`). */
export interface TriggerRunInput {
  readonly resolverFqn: string;
  /** ISO-8601; only rows at or after it (on the incremental or feature-time column). */
  readonly lowerBound?: string;
  /** ISO-8601; only rows before it. */
  readonly upperBound?: string;
  readonly maxSamples?: number;
  /** A second trigger with the same key answers the first run. */
  readonly idempotencyKey?: string;
  /** Default true. */
  readonly storeOnline?: boolean;
  /** Default true. */
  readonly storeOffline?: boolean;
}

/** An incremental resolver's state (`GET /v1/runs/incremental/{resolver_fqn}`). */
export const IncrementalStateSchema = z.looseObject({
  resolver_fqn: z.string(),
  /** The greatest incremental value ingested: ISO text for times, JSON for other values. */
  high_water: z.string().nullable(),
  /** When the last successful run started. */
  last_execution_at: z.string().nullable(),
});
export type IncrementalState = z.infer<typeof IncrementalStateSchema>;
