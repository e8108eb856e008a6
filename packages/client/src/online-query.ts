import { z } from 'zod';

/** A JSON value: what query inputs, contexts and feature values are made of. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * The body of `POST /v1/query/online`, field for field as Chalk's clients send it (chalk.md §3.4).
 * Only `inputs` and `outputs` are required; omitted fields are left out of the JSON.
 */
export interface OnlineQueryRequest {
  /** Feature FQN → value, e.g. `{ 'user.id': 1 }`; has-many inputs as lists, structs as objects. */
  readonly inputs: Readonly<Record<string, JsonValue>>;
  /** FQNs to compute, e.g. `['user.name']`. */
  readonly outputs: readonly string[];
  /** Per-feature maximum staleness, e.g. `{ 'user.risk_score': '10m' }`. */
  readonly staleness?: Readonly<Record<string, string>>;
  readonly context?: {
    readonly environment?: string;
    readonly tags?: readonly string[];
    readonly required_resolver_tags?: readonly string[];
  };
  /** Return per-feature `meta` and the response `meta`. */
  readonly include_meta?: boolean;
  readonly explain?: boolean;
  readonly store_plan_stages?: boolean;
  /** ISO-8601 time the query runs "as of". */
  readonly now?: string;
  readonly query_name?: string;
  readonly query_name_version?: string;
  readonly correlation_id?: string;
  /** Preview deployment to run against. */
  readonly deployment_id?: string;
  readonly branch_id?: string;
  /** Immutable context handed to resolvers. */
  readonly query_context?: Readonly<Record<string, JsonValue>>;
  /** Arbitrary tags recorded with the query. */
  readonly meta?: Readonly<Record<string, string>>;
  readonly encoding_options?: { readonly encode_structs_as_objects?: boolean };
  readonly planner_options?: Readonly<Record<string, JsonValue>>;
}

/** Per-feature metadata, present when `include_meta` is set. */
export const FeatureResultMetaSchema = z.looseObject({
  chosen_resolver_fqn: z.string().nullish(),
  cache_hit: z.boolean().nullish(),
  primitive_type: z.string().nullish(),
  version: z.number().nullish(),
});

/** A query error: request-level (`category: 'REQUEST'`) or about one feature (`'FIELD'`). */
export const ChalkErrorSchema = z.looseObject({
  code: z.string(),
  category: z.string().nullish(),
  message: z.string(),
  exception: z
    .looseObject({
      kind: z.string().nullish(),
      message: z.string().nullish(),
      stacktrace: z.string().nullish(),
    })
    .nullish(),
  feature: z.string().nullish(),
  resolver: z.string().nullish(),
});
export type ChalkError = z.infer<typeof ChalkErrorSchema>;

/** One computed output. */
export const FeatureResultSchema = z.looseObject({
  field: z.string(),
  value: z.unknown(),
  pkey: z.unknown().optional(),
  ts: z.string().nullish(),
  valid: z.boolean().nullish(),
  error: ChalkErrorSchema.nullish(),
  meta: FeatureResultMetaSchema.nullish(),
});
export type FeatureResult = z.infer<typeof FeatureResultSchema>;

/** Query-level metadata, present when `include_meta` or `explain` is set. */
export const QueryMetaSchema = z.looseObject({
  execution_duration_s: z.number().nullish(),
  deployment_id: z.string().nullish(),
  environment_id: z.string().nullish(),
  environment_name: z.string().nullish(),
  query_id: z.string().nullish(),
  query_timestamp: z.string().nullish(),
  query_hash: z.string().nullish(),
  explain_output: z.unknown().optional(),
});
export type QueryMeta = z.infer<typeof QueryMetaSchema>;

/** The JSON answer of `POST /v1/query/online` (chalk.md §3.4). Unknown fields are kept. */
export const OnlineQueryResponseSchema = z.looseObject({
  data: z.array(FeatureResultSchema),
  /** Always an array here: a server that omits it or sends null reported no errors. */
  errors: z
    .array(ChalkErrorSchema)
    .nullish()
    .transform((errors) => errors ?? []),
  meta: QueryMetaSchema.nullish(),
});
export type OnlineQueryResponse = z.infer<typeof OnlineQueryResponseSchema>;

/**
 * The raw response plus lookups. `get` and `errorsFor` are non-enumerable, so `JSON.stringify(result)`
 * and deep equality see exactly the server's response.
 */
export type OnlineQueryResult = OnlineQueryResponse & {
  /** The value computed for `fqn`, or `undefined` when the response holds no row for it. */
  get(fqn: string): unknown;
  /** Errors about `fqn` (row errors and response errors naming it). */
  errorsFor(fqn: string): ChalkError[];
};

/** Adds the lookup helpers to a validated response without changing its JSON. */
export function toOnlineQueryResult(response: OnlineQueryResponse): OnlineQueryResult {
  const byField = new Map(response.data.map((row) => [row.field, row]));
  const helpers = {
    get: { value: (fqn: string): unknown => byField.get(fqn)?.value, enumerable: false },
    errorsFor: {
      value: (fqn: string): ChalkError[] => {
        const rowError = byField.get(fqn)?.error;
        const listed = response.errors.filter((error) => error.feature === fqn);
        return rowError && !listed.includes(rowError) ? [rowError, ...listed] : listed;
      },
      enumerable: false,
    },
  };
  return Object.defineProperties({ ...response }, helpers) as OnlineQueryResult;
}
