import { z } from 'zod';
import { createMysqlSqlSource } from './mysql/mysql-sql-source.ts';
import { createPostgresSqlSource } from './postgres/postgres-sql-source.ts';
import type { SqlSource } from './sql-source.ts';

/** A named data source's connection, chosen by `type`. The URL carries credentials: keep it in a secret. */
export const SqlSourceConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('postgres'),
    url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
    maxConnections: z.number().int().positive().optional(),
  }),
  z.object({
    type: z.literal('mysql'),
    url: z.string().regex(/^mysql:\/\//, 'a mysql:// URL'),
    maxConnections: z.number().int().positive().optional(),
  }),
]);
export type SqlSourceConfig = z.input<typeof SqlSourceConfigSchema>;

/**
 * Creates the SQL source a config describes (not yet initialised).
 *
 * @throws ZodError for an invalid config.
 */
export function createSqlSource(config: SqlSourceConfig): SqlSource {
  const parsed = SqlSourceConfigSchema.parse(config);
  return parsed.type === 'postgres' ? createPostgresSqlSource(parsed) : createMysqlSqlSource(parsed);
}
