import { z } from 'zod';
import { type ExprNode, ExprNodeSchema } from './expression.ts';
import { ChartSpecSchema, DriftCheckSpecSchema } from './metric-checks.ts';
import { ModelRefSchema, PinnedModelSchema } from './model-signature.ts';
import { SourceLocationSchema } from './source-location-schema.ts';

/**
 * The versioned JSON form of a feature graph: what `slate apply` uploads with each deployment and what
 * both planes read. Pure data (no functions): resolvers are referenced by `fqn` and found in the
 * deployment's bundle at run time.
 */
export const GRAPH_ARTIFACT_VERSION = 1;

/** Scalar value types; `list`/`set`/`struct`/`vector`/`document` compose them. */
export type DType =
  | { readonly type: 'int' }
  | { readonly type: 'float' }
  | { readonly type: 'string' }
  | { readonly type: 'bool' }
  | { readonly type: 'date' }
  | { readonly type: 'datetime' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'list'; readonly of: DType }
  | { readonly type: 'set'; readonly of: DType }
  | { readonly type: 'struct'; readonly fields: Readonly<Record<string, DType>> }
  | { readonly type: 'vector'; readonly dimensions: number }
  | { readonly type: 'document' };

export const DTypeSchema: z.ZodType<DType> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('int') }),
    z.object({ type: z.literal('float') }),
    z.object({ type: z.literal('string') }),
    z.object({ type: z.literal('bool') }),
    z.object({ type: z.literal('date') }),
    z.object({ type: z.literal('datetime') }),
    z.object({ type: z.literal('enum'), values: z.array(z.string()).min(1) }),
    z.object({ type: z.literal('list'), of: DTypeSchema }),
    z.object({ type: z.literal('set'), of: DTypeSchema }),
    z.object({ type: z.literal('struct'), fields: z.record(z.string(), DTypeSchema) }),
    z.object({ type: z.literal('vector'), dimensions: z.number().int().positive() }),
    z.object({ type: z.literal('document') }),
  ]),
);

export { type SourceLocation, SourceLocationSchema } from './source-location-schema.ts';

const featureName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lowercase letters, digits and _');

/** Metadata every feature may carry. */
const FeatureCommon = {
  /** Fully qualified name: `<namespace>.<name>`. */
  fqn: z.string(),
  name: featureName,
  namespace: featureName,
  description: z.string().optional(),
  owner: z.string().optional(),
  tags: z.array(z.string()).default([]),
  source: SourceLocationSchema.optional(),
};

/** Join pairs of a relationship: each `foreign` feature of the target equals the `local` feature. */
export const JoinSchema = z.array(z.object({ local: z.string(), foreign: z.string() })).min(1);

export const ScalarFeatureSchema = z.object({
  ...FeatureCommon,
  kind: z.literal('scalar'),
  dtype: DTypeSchema,
  primary: z.boolean().default(false),
  /** The feature-time field: when a value was observed. */
  featureTime: z.boolean().default(false),
  nullable: z.boolean().default(false),
  /** JSON default returned when no resolver produced a value. */
  default: z.unknown().optional(),
  /** The default version: what the bare name (`user.score`) means when the feature has several versions. */
  version: z.number().int().positive().default(1),
  /**
   * How many versions the feature has (1 = unversioned). Versions are addressed as `user.score@2`; each is
   * its own feature with its own resolvers and cached values. Absent means 1.
   */
  versions: z.number().int().positive().optional(),
  /** Versions that log a deprecation warning when queried (all of them when `deprecated`). */
  deprecatedVersions: z.array(z.number().int().positive()).optional(),
  deprecated: z.boolean().default(false),
  /** When set, the feature is computed by this expression (the `_` DSL) instead of a resolver. */
  expression: (ExprNodeSchema as z.ZodType<ExprNode>).optional(),
  /**
   * For one window of a windowed feature: `base` is the name users declared (`num_logins`), this feature
   * is `num_logins__600__`; `seconds` is the window (`null` for `"all"`).
   */
  window: z.object({ base: featureName, seconds: z.number().positive().nullable() }).optional(),
  /** Seconds a cached online value stays fresh; 0 = never cached; null = forever ("infinity"). */
  maxStalenessS: z.number().nonnegative().nullable().default(0),
  storeOnline: z.boolean().default(true),
  storeOffline: z.boolean().default(true),
  etlOfflineToOnline: z.boolean().default(false),
  cacheNulls: z.boolean().default(true),
  cacheDefaults: z.boolean().default(true),
  /** Seconds after observation that an offline value stops counting (point-in-time); null = forever. */
  offlineTtlS: z.number().nonnegative().nullable().default(null),
  validations: z
    .object({
      min: z.number().optional(),
      max: z.number().optional(),
      minLength: z.number().int().nonnegative().optional(),
      maxLength: z.number().int().nonnegative().optional(),
      strict: z.boolean().default(false),
    })
    .optional(),
});

export const HasManyFeatureSchema = z.object({
  ...FeatureCommon,
  kind: z.literal('has_many'),
  /** Namespace of the related rows. */
  target: featureName,
  join: JoinSchema,
  maxStalenessS: z.number().nonnegative().nullable().default(0),
});

export const HasOneFeatureSchema = z.object({
  ...FeatureCommon,
  kind: z.literal('has_one'),
  target: featureName,
  join: JoinSchema,
  optional: z.boolean().default(false),
});

export const FeatureSpecSchema = z.discriminatedUnion('kind', [
  ScalarFeatureSchema,
  HasManyFeatureSchema,
  HasOneFeatureSchema,
]);
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;
export type ScalarFeatureSpec = z.infer<typeof ScalarFeatureSchema>;
export type HasManyFeatureSpec = z.infer<typeof HasManyFeatureSchema>;
export type HasOneFeatureSpec = z.infer<typeof HasOneFeatureSchema>;

export const NamespaceSpecSchema = z.object({
  name: featureName,
  /** FQN of the primary key feature. */
  primaryKey: z.string(),
  /** FQN of the feature-time feature, when the class has one. */
  featureTime: z.string().optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  tags: z.array(z.string()).default([]),
  features: z.array(FeatureSpecSchema),
  source: SourceLocationSchema.optional(),
});
export type NamespaceSpec = z.infer<typeof NamespaceSpecSchema>;

/**
 * A resolver input: a feature of the root namespace, or a has-many relationship whose rows arrive as an
 * array of objects holding the listed `features` of the target namespace.
 */
export const ResolverInputSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('feature'), param: z.string(), fqn: z.string() }),
  z.object({
    type: z.literal('has_many'),
    param: z.string(),
    fqn: z.string(),
    /** FQNs of the target features each row carries. */
    features: z.array(z.string()),
  }),
]);
export type ResolverInput = z.infer<typeof ResolverInputSchema>;

export const ResolverOutputSchema = z.object({ param: z.string(), fqn: z.string() });
export type ResolverOutput = z.infer<typeof ResolverOutputSchema>;

/**
 * How a SQL resolver runs (chalk.md §2.2). `query` keeps its `${param}` placeholders (`${user.id}`,
 * `${now}`); feature parameters are the resolver's inputs. Without feature parameters the resolver's input
 * is the namespace's primary key, pushed down into the query's WHERE for each batch of rows. Columns map to
 * the features of `namespace` case-insensitively with underscores stripped.
 */
export const SqlResolverSettingsSchema = z.object({
  /** The named data source of the environment (`{ name, type, url }` in the data plane's configuration). */
  dataSource: z.string().min(1),
  query: z.string().min(1),
  /** `one`: the first row per input; `one_or_none`: same, missing allowed; `all`: every row (a data frame). */
  count: z.enum(['one', 'one_or_none', 'all']).default('one_or_none'),
  /**
   * The selected column holding the primary key when that key is the resolver's only input: requested keys
   * are pushed down into the query's WHERE on it.
   */
  keyColumn: z.string().optional(),
  /**
   * Incremental runs (chalk.md §2.2). The high-water mark is the greatest `column` value the previous runs
   * ingested (`timestamp: feature_time`, the default) or the time the last successful run started
   * (`resolver_execution_time`); `lookbackS` re-reads that much before it for late rows.
   * - `row`: a run reads only rows whose `column` is past the mark.
   * - `group`: the query is a GROUP BY; a run re-aggregates only the groups with an underlying row whose
   *   `column` (a column of the queried tables, not an output) is past the mark.
   * - `parameter`: the query is not rewritten; it reads the mark as `${chalk_incremental_timestamp}` (and
   *   the last run's start as `${chalk_last_execution_timestamp}`); `column` is ignored.
   */
  incremental: z
    .object({
      mode: z.enum(['row', 'group', 'parameter']).default('row'),
      /** Required for `row` and `group`: an output column (`row`) or a column of the queried tables (`group`). */
      column: z
        .string()
        .regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/)
        .optional(),
      lookbackS: z.number().nonnegative().default(0),
      timestamp: z.enum(['feature_time', 'resolver_execution_time']).default('feature_time'),
    })
    .refine((settings) => settings.mode === 'parameter' || settings.column !== undefined, {
      message: 'incremental row and group modes need a column',
      path: ['column'],
    })
    .optional(),
  /** The file the query came from (`.sql` resolvers). */
  file: z.string().optional(),
});
export type SqlResolverSettings = z.infer<typeof SqlResolverSettingsSchema>;

/** How a streaming resolver reads its topic (chalk.md §2.4). */
export const StreamResolverSettingsSchema = z.object({
  topic: z.string().min(1),
  /** Messages published longer ago than this (seconds) are dropped; null = never (the default). */
  lateArrivalS: z.number().nonnegative().nullable().default(null),
  /**
   * `mapping`: one set of feature values per message. `windowed`: messages are aggregated per entity over
   * the windows of windowed features (see `windowed`).
   */
  mode: z.enum(['mapping', 'windowed']).default('mapping'),
  /**
   * How a `windowed` stream aggregates: each message lands (by event time) in an epoch-aligned bucket of
   * `bucketS` seconds per entity; a window's value merges the buckets it covers. `continuous`: a window of W
   * seconds covers the W/bucketS most recent buckets, the current one included; `tumbling`: the current
   * epoch-aligned window of W seconds only.
   */
  windowed: z
    .object({
      windowMode: z.enum(['continuous', 'tumbling']).default('continuous'),
      bucketS: z.number().int().positive(),
      aggregations: z
        .array(
          z.object({
            /** The function's output carrying the message's input to this aggregation. */
            param: z.string().min(1),
            /** The windowed feature (its base FQN, e.g. `user.page_views`). */
            feature: z.string().min(1),
            function: z.enum(['count', 'sum', 'min', 'max', 'mean']),
            /** Every window of the feature: its FQN and seconds (`null` for `"all"`). */
            windows: z
              .array(z.object({ fqn: z.string(), seconds: z.number().int().positive().nullable() }))
              .min(1),
          }),
        )
        .min(1),
    })
    .optional(),
});
export type StreamResolverSettings = z.infer<typeof StreamResolverSettingsSchema>;

export const ResolverSpecSchema = z.object({
  fqn: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/),
  kind: z.enum(['online', 'offline']),
  /** The namespace every input and output is rooted in. */
  namespace: featureName,
  inputs: z.array(ResolverInputSchema),
  outputs: z.array(ResolverOutputSchema).min(1),
  /** Environments the resolver runs in; empty = all. */
  environments: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  timeoutMs: z.number().int().positive().optional(),
  /** The resolver returns every primary key (a `total` data-frame resolver). */
  total: z.boolean().default(false),
  /**
   * For data-frame resolvers: the output parameter under which the function returns an array of rows;
   * `outputs` then list the features of each row (their `param` is the row's field name).
   */
  dataframe: z.string().optional(),
  /** The function receives every row of a query at once (an array) and returns an array of outputs. */
  batch: z.boolean().optional(),
  cron: z.string().optional(),
  /** A SQL resolver: executed by the data plane against a named data source, no user code involved. */
  sql: SqlResolverSettingsSchema.optional(),
  /** A streaming resolver: fed by the messages of a topic on the bus, never chosen by the query planner. */
  stream: StreamResolverSettingsSchema.optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  source: SourceLocationSchema.optional(),
});
export type ResolverSpec = z.infer<typeof ResolverSpecSchema>;

export const NamedQuerySpecSchema = z.object({
  name: z.string().min(1),
  version: z.string().optional(),
  inputs: z.array(z.string()).min(1),
  outputs: z.array(z.string()).min(1),
  tags: z.array(z.string()).default([]),
  staleness: z.record(z.string(), z.string()).default({}),
  description: z.string().optional(),
  owner: z.string().optional(),
});
export type NamedQuerySpec = z.infer<typeof NamedQuerySpecSchema>;

/**
 * A scheduled query (chalk.md §6.5, `ScheduledQuery`): on `schedule`, the data plane runs an offline query
 * of `output` over the entities of their namespace the offline store knows (only those with values
 * inserted since the previous successful run when `incremental`), recomputing `recomputeFeatures`, and
 * stores the results online and/or offline.
 */
export const ScheduledQuerySpecSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . and -, at most 100'),
  /** A UTC crontab or a duration (`"1d"`), as resolvers' `cron`. */
  schedule: z.string().min(1),
  /** FQNs of the scalar features to compute, all of one namespace. */
  output: z.array(z.string()).min(1),
  /** Outputs to recompute by running resolvers (`true`: all); the others are sampled from the offline store. */
  recomputeFeatures: z.union([z.boolean(), z.array(z.string())]).default(false),
  storeOnline: z.boolean().default(true),
  storeOffline: z.boolean().default(true),
  /** Only entities with values inserted since the last successful run (the first run takes all). */
  incremental: z.boolean().default(true),
  maxSamples: z.number().int().positive().optional(),
  tags: z.array(z.string()).default([]),
  requiredResolverTags: z.array(z.string()).default([]),
  description: z.string().optional(),
  owner: z.string().optional(),
  source: SourceLocationSchema.optional(),
});
export type ScheduledQuerySpec = z.infer<typeof ScheduledQuerySpecSchema>;

export const GraphArtifactSchema = z.object({
  version: z.literal(GRAPH_ARTIFACT_VERSION),
  project: z.string().optional(),
  namespaces: z.array(NamespaceSpecSchema),
  resolvers: z.array(ResolverSpecSchema),
  namedQueries: z.array(NamedQuerySpecSchema).default([]),
  /** Absent in artifacts from before scheduled queries: read it as `[]`. */
  scheduledQueries: z.array(ScheduledQuerySpecSchema).optional(),
  /** Charts and their alert triggers (absent in older artifacts: read it as `[]`). */
  charts: z.array(ChartSpecSchema).optional(),
  /** Feature drift checks (absent in older artifacts: read it as `[]`). */
  driftChecks: z.array(DriftCheckSpecSchema).optional(),
  /** The registered models the repository's resolvers call (its exported `model()` handles). */
  models: z.array(ModelRefSchema).optional(),
  /**
   * The versions those references named when the deployment was made, set by the metadata plane (what a
   * client sends here is replaced): the deployment runs exactly these, whatever the aliases do later.
   */
  pinnedModels: z.array(PinnedModelSchema).optional(),
});
export type GraphArtifact = z.infer<typeof GraphArtifactSchema>;
