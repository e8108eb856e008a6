import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { z } from 'zod';
import type { Database } from './schema.ts';

/**
 * Where the metadata lives: an embedded PGlite (in-process PostgreSQL in WASM; `dataDir` omitted = in
 * memory) or a real PostgreSQL server. The same SQL runs on both through node-postgres.
 */
export const DatabaseConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pglite'), dataDir: z.string().min(1).optional() }),
  z.object({
    type: z.literal('postgres'),
    url: z.string().min(1),
    maxConnections: z.number().int().positive().default(10),
  }),
]);
export type DatabaseConfig = z.input<typeof DatabaseConfigSchema>;

/** An open database: the Kysely handle and how to close it (closing also stops an owned PGlite). */
export interface MetadataDatabase {
  readonly db: Kysely<Database>;
  readonly type: 'pglite' | 'postgres';
  /**
   * Raw SQL on the same pool as `db` (pg-boss uses it). On PGlite this shares the one session with Kysely
   * through the one-connection pool, so it never runs inside someone else's transaction.
   */
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  close(): Promise<void>;
}

/**
 * Opens the metadata database. Does not migrate (see `migrateToLatest`).
 *
 * @example
 * const { db, close } = await createDatabase({ type: 'pglite', dataDir: '.slate/metadata' });
 */
export async function createDatabase(config: DatabaseConfig): Promise<MetadataDatabase> {
  const parsed = DatabaseConfigSchema.parse(config);
  if (parsed.type === 'pglite') {
    const lite = parsed.dataDir ? new PGlite(parsed.dataDir) : new PGlite();
    await lite.waitReady;
    // PGlite is a single session, so the pool has one connection and transactions serialize.
    const pool = new pg.Pool(createPgConfig(lite));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      type: 'pglite',
      executeSql: executeOn(pool),
      close: async () => {
        await db.destroy();
        await lite.close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: parsed.url, max: parsed.maxConnections });
  // An idle connection the server ends (restart, failover, `pg_terminate_backend`) is dropped from the pool
  // and replaced on next use; without a listener, node-postgres would raise it as an uncaught error.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, type: 'postgres', executeSql: executeOn(pool), close: () => db.destroy() };
}

/** Multi-statement text (pg-boss sends some) yields an array of results: keep the last one's rows. */
function executeOn(pool: pg.Pool): MetadataDatabase['executeSql'] {
  return async (text, values) => {
    const result = (await pool.query(text, values)) as pg.QueryResult | pg.QueryResult[];
    return { rows: (Array.isArray(result) ? result.at(-1)?.rows : result.rows) ?? [] };
  };
}

/**
 * The PostgreSQL URL from process-style variables: `DATABASE_URL` wins; otherwise the installation
 * guide's `POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_HOST` (may carry `:port`), `POSTGRES_DB`
 * (and optional `POSTGRES_PORT`). Returns `undefined` when neither is set.
 *
 * @example
 * databaseUrlFromEnv({ POSTGRES_USER: 'chalk', POSTGRES_PASSWORD: 'p@ss', POSTGRES_HOST: 'db', POSTGRES_DB: 'chalk' });
 * // 'postgres://chalk:p%40ss@db:5432/chalk'
 */
export function databaseUrlFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const {
    POSTGRES_USER: user,
    POSTGRES_PASSWORD: password,
    POSTGRES_HOST: host,
    POSTGRES_DB: database,
  } = env;
  if (!host || !user || !database) return undefined;
  const hostPort = host.includes(':') ? host : `${host}:${env.POSTGRES_PORT ?? '5432'}`;
  const auth = password
    ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}`
    : encodeURIComponent(user);
  return `postgres://${auth}@${hostPort}/${encodeURIComponent(database)}`;
}
