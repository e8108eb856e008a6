import { z } from 'zod';

/** DuckDB sizes DuckDB accepts for `memory_limit`: a number and a unit, e.g. `512MB`, `2GiB`. */
const SIZE = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

const OfflineStoreEnvSchema = z.object({
  SLATE_OFFLINE_MEMORY_LIMIT: z
    .string()
    .regex(SIZE, 'a size such as 512MB or 2GB')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  SLATE_OFFLINE_THREADS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

/**
 * The Parquet offline store's DuckDB sizing from the environment: `SLATE_OFFLINE_MEMORY_LIMIT` (default
 * 512MB, see `ParquetOfflineStoreOptions.memoryLimit`) and `SLATE_OFFLINE_THREADS` (default 1). Unset or
 * empty keeps the default.
 *
 * @throws ZodError for a malformed value (the process refuses to start).
 * @example
 * createParquetOfflineStore({ objectStore, ...offlineStoreTuningFromEnv(process.env) });
 */
export function offlineStoreTuningFromEnv(env: Readonly<Record<string, string | undefined>>): {
  memoryLimit?: string;
  threads?: number;
} {
  const parsed = OfflineStoreEnvSchema.parse({
    SLATE_OFFLINE_MEMORY_LIMIT: env.SLATE_OFFLINE_MEMORY_LIMIT,
    SLATE_OFFLINE_THREADS: env.SLATE_OFFLINE_THREADS,
  });
  return {
    ...(parsed.SLATE_OFFLINE_MEMORY_LIMIT ? { memoryLimit: parsed.SLATE_OFFLINE_MEMORY_LIMIT } : {}),
    ...(parsed.SLATE_OFFLINE_THREADS ? { threads: parsed.SLATE_OFFLINE_THREADS } : {}),
  };
}
