import { z } from 'zod';

/** Where in the user's source a definition stands, for lint messages. */
export const SourceLocationSchema = z.object({ file: z.string(), line: z.number().int().nonnegative() });
export type SourceLocation = z.infer<typeof SourceLocationSchema>;
