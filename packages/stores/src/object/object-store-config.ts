import { z } from 'zod';
import { createLocalObjectStore } from './local/local-object-store.ts';
import { BUCKETS, type BucketName, type ObjectStore } from './object-store.ts';
import { createS3ObjectStore } from './s3/s3-object-store.ts';

/**
 * Where a process keeps its buckets, chosen by `type`: local folders (embedded) or S3 (production). S3
 * buckets are named `<bucketPrefix>-<bucket>` (`acme-data`, `acme-source`, …) unless `buckets` maps them.
 */
export const ObjectStoreConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local'), root: z.string().min(1) }),
  z.object({
    type: z.literal('s3'),
    region: z.string().min(1).default('us-east-1'),
    endpoint: z.url().optional(),
    forcePathStyle: z.boolean().default(false),
    bucketPrefix: z.string().min(1),
    buckets: z.partialRecord(z.enum(BUCKETS), z.string().min(1)).default({}),
  }),
]);
export type ObjectStoreConfig = z.input<typeof ObjectStoreConfigSchema>;

const factories: {
  [T in z.output<typeof ObjectStoreConfigSchema>['type']]: (
    config: Extract<z.output<typeof ObjectStoreConfigSchema>, { type: T }>,
  ) => ObjectStore;
} = {
  local: (config) => createLocalObjectStore({ root: config.root }),
  s3: (config) =>
    createS3ObjectStore({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      buckets: Object.fromEntries(
        BUCKETS.map((b) => [b, config.buckets[b] ?? `${config.bucketPrefix}-${b}`]),
      ) as Record<BucketName, string>,
    }),
};

/**
 * Creates the object store a config describes (not yet initialised: call `init()`).
 *
 * @throws ZodError for an invalid config.
 * @example
 * const store = createObjectStore({ type: 's3', bucketPrefix: 'acme', region: 'eu-west-1' });
 */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const parsed = ObjectStoreConfigSchema.parse(config);
  return (factories[parsed.type] as (c: typeof parsed) => ObjectStore)(parsed);
}

/**
 * The object-store config from environment variables, the same for every Slate process:
 * `SLATE_S3_BUCKET_PREFIX` (with `SLATE_S3_REGION`, `SLATE_S3_ENDPOINT`, `SLATE_S3_FORCE_PATH_STYLE=true`)
 * selects S3; otherwise local folders under `SLATE_OBJECTS_DIR` (default `defaultRoot`).
 */
export function objectStoreConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultRoot: string,
): ObjectStoreConfig {
  if (env.SLATE_S3_BUCKET_PREFIX) {
    return {
      type: 's3',
      bucketPrefix: env.SLATE_S3_BUCKET_PREFIX,
      region: env.SLATE_S3_REGION || undefined,
      endpoint: env.SLATE_S3_ENDPOINT || undefined,
      forcePathStyle: env.SLATE_S3_FORCE_PATH_STYLE === 'true',
    };
  }
  return { type: 'local', root: env.SLATE_OBJECTS_DIR || defaultRoot };
}
