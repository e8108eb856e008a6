import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { SlateError } from '@slate/graph';
import type { SqlSource } from '@slate/stores';

export interface PgliteSqlSourceOptions {
  /** Where the database lives; in memory when absent. */
  readonly dataDir?: string;
  /** A SQL file run once when the source opens (schema and sample rows for a local demo). */
  readonly initFile?: string;
}

/**
 * A PostgreSQL data source on an embedded PGlite database, for `slate up` and demos: SQL resolvers read it
 * exactly as they read a PostgreSQL server (same dialect, `$n` placeholders, push-down with `= any($n)`).
 * Serves one process only; use `type: postgres` for anything shared.
 *
 * @example
 * const source = createPgliteSqlSource({ initFile: 'data/app_db.sql' });
 * await source.init();
 */
export function createPgliteSqlSource(options: PgliteSqlSourceOptions = {}): SqlSource {
  let opened: Promise<PGlite> | undefined;
  const open = () => {
    opened ??= (async () => {
      const db = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
      await db.waitReady;
      if (options.initFile) await db.exec(await readFile(options.initFile, 'utf8'));
      return db;
    })();
    return opened;
  };
  return {
    dialect: 'postgres',
    async init() {
      await open();
    },
    async close() {
      const db = await opened?.catch(() => undefined);
      opened = undefined;
      await db?.close();
    },
    async query(statement, signal) {
      signal?.throwIfAborted();
      const db = await open();
      try {
        const result = await db.query<Record<string, unknown>>(statement.text, [...statement.params]);
        return { columns: result.fields.map((field) => field.name), rows: result.rows };
      } catch (error) {
        throw new SlateError('input', 'SOURCE_QUERY_FAILED', (error as Error).message);
      }
    },
  };
}
