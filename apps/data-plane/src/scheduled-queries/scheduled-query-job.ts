import type { ObjectStore } from '@slate/stores';
import { z } from 'zod';

/** What a trigger started, kept under its idempotency key until the query's results are stored. */
export const ScheduledJobSchema = z.object({
  revisionId: z.string().nullable(),
  entities: z.number().int().nonnegative(),
  /** False until the online copy and the mark are stored (absent in jobs of earlier versions: done). */
  done: z.boolean().default(true),
  trigger: z
    .object({ query_name: z.string(), environment: z.string(), idempotency_key: z.string() })
    .optional(),
  finish: z
    .object({
      pkeys: z.array(z.string()),
      times: z.array(z.number()),
      fqns: z.array(z.string()),
      ttl: z.array(z.tuple([z.string(), z.number().nullable()])),
      mark: z.number().nullable(),
    })
    .optional(),
});
export type ScheduledJob = z.infer<typeof ScheduledJobSchema>;

/** Where a scheduled query's incremental mark lives (the `data` bucket). */
export const scheduledQueryMarkPath = (env: string, name: string) =>
  `scheduled-queries/${env}/marks/${encodeURIComponent(name)}.json`;

/** A JSON object of the `data` bucket, or null. */
export async function readDataJson<T>(objectStore: ObjectStore, path: string): Promise<T | null> {
  const bytes = await objectStore.get('data', path);
  return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as T) : null;
}
