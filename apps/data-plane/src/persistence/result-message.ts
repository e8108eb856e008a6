import { z } from 'zod';

/** The topic the data plane publishes query results and uploads to (the seed product's `result-bus`). */
export const RESULT_BUS_TOPIC = 'result-bus';

/** The seed product's operation kinds that reach the result bus (chalk.md §6.4). */
export const OperationKindSchema = z.enum(['ONLINE_QUERY', 'UPLOAD_FEATURES', 'OFFLINE_QUERY']);
export type OperationKind = z.infer<typeof OperationKindSchema>;

/** One computed or uploaded value. */
export const ResultValueSchema = z.object({
  feature: z.string(),
  pkey: z.string(),
  value: z.unknown(),
  /** Feature time, epoch ms. */
  observedAt: z.number(),
  resolver: z.string().nullable().default(null),
  /** Expiry of the online copy in ms (from max_staleness); absent = never expires. */
  ttlMs: z.number().positive().optional(),
});
export type ResultValue = z.infer<typeof ResultValueSchema>;

/** A row of the query log (the seed product's `query_log` table, chalk.md §6.4). */
export const QueryLogEntrySchema = z.object({
  operation_id: z.string(),
  environment_id: z.string(),
  deployment_id: z.string().nullable(),
  operation_kind: OperationKindSchema,
  query_timestamp: z.string(),
  execution_started_at: z.string(),
  execution_finished_at: z.string(),
  query_status: z.enum(['SUCCESSFUL', 'SUCCESSFUL_WITH_NONFATAL_ERRORS', 'ERROR']),
  query_name: z.string().nullable(),
  correlation_id: z.string().nullable(),
  outputs: z.array(z.string()),
  row_count: z.number().int().nonnegative(),
  error_count: z.number().int().nonnegative(),
});
export type QueryLogEntry = z.infer<typeof QueryLogEntrySchema>;

/** Usage counted per operation, for billing and quotas. */
export const UsageEventSchema = z.object({
  operation_id: z.string(),
  operation_kind: OperationKindSchema,
  at: z.string(),
  rows: z.number().int().nonnegative(),
  feature_values: z.number().int().nonnegative(),
  resolver_values: z.number().int().nonnegative(),
});
export type UsageEvent = z.infer<typeof UsageEventSchema>;

/**
 * One message on the result bus: what one operation (a query, an upload) produced, for every writer at
 * once. The bus message id is the idempotency key of every write it causes.
 */
export const ResultMessageSchema = z.object({
  version: z.literal(1),
  environment: z.string().min(1),
  operationId: z.string(),
  operationKind: OperationKindSchema,
  deploymentId: z.string().nullable(),
  /** When the values were produced, epoch ms: their `inserted_at`. */
  insertedAt: z.number(),
  values: z.array(ResultValueSchema).default([]),
  /** Write `values` to the online store (uploads, etl_offline_to_online; online queries already cached them). */
  writeOnline: z.boolean(),
  /** Write `values` to the offline store. */
  writeOffline: z.boolean(),
  /** Online keys to delete (feature deletes). */
  deletes: z.array(z.object({ feature: z.string(), pkey: z.string() })).default([]),
  /**
   * Features whose every value is dropped (`slate drop`): online when `writeOnline`, offline (observations
   * inserted at or before `insertedAt`) when `writeOffline`.
   */
  drops: z.array(z.string().min(1)).default([]),
  queryLog: QueryLogEntrySchema.optional(),
  usage: UsageEventSchema.optional(),
});
export type ResultMessage = z.infer<typeof ResultMessageSchema>;
export type ResultMessageInput = z.input<typeof ResultMessageSchema>;

const EnvelopeSchema = ResultMessageSchema.extend({ values: z.array(z.unknown()).default([]) });

/**
 * Parses a bus message body into a `ResultMessage`: the envelope through the schema, the values (the bulk
 * of a message) through a hand-written loop with the same rules, several times faster than the schema.
 *
 * @throws Error (a `ZodError` or `TypeError`) when the body is not a valid result message.
 */
export function parseResultMessage(text: string): ResultMessage {
  const envelope = EnvelopeSchema.parse(JSON.parse(text));
  const values = envelope.values as Record<string, unknown>[];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (
      typeof v !== 'object' ||
      v === null ||
      typeof v.feature !== 'string' ||
      typeof v.pkey !== 'string' ||
      typeof v.observedAt !== 'number' ||
      !Number.isFinite(v.observedAt) ||
      (v.resolver !== undefined && v.resolver !== null && typeof v.resolver !== 'string') ||
      (v.ttlMs !== undefined && !(typeof v.ttlMs === 'number' && v.ttlMs > 0))
    )
      throw new TypeError(`value ${i} is not a valid result value`);
    if (v.resolver === undefined) v.resolver = null;
  }
  return envelope as ResultMessage;
}
