import type { SqlSources } from '@slate/engine';
import { SlateError } from '@slate/graph';
import { createSqlSource, type SqlSource } from '@slate/stores';
import { z } from 'zod';
import { createPgliteSqlSource } from './pglite-sql-source.ts';

/**
 * A named SQL data source of an environment, as SQL resolvers name it (`source: 'app_db'`), chosen by
 * `type`: `postgres` or `mysql` with a URL that may reference the environment's secrets as
 * `${secret:NAME}` (resolved on the data plane, never logged), or an embedded `pglite` database.
 */
const common = {
  name: z.string().regex(/^[A-Za-z_][\w-]*$/, 'letters, digits, _ and -'),
  /** The environment (id or name) the source belongs to; absent = every environment. */
  environment: z.string().optional(),
};
export const DataSourceConfigSchema = z.discriminatedUnion('type', [
  z.object({
    ...common,
    type: z.enum(['postgres', 'mysql']),
    url: z.string().min(1),
    maxConnections: z.number().int().positive().optional(),
  }),
  /** An embedded PGlite database (local demos): in memory, or in `dataDir`; `initFile` runs at open. */
  z.object({
    ...common,
    type: z.literal('pglite'),
    dataDir: z.string().optional(),
    initFile: z.string().optional(),
  }),
]);
export type DataSourceConfig = z.input<typeof DataSourceConfigSchema>;

/**
 * Replaces `${secret:NAME}` references with the environment's secrets.
 *
 * @throws SlateError `SECRET_NOT_FOUND` (kind `input`) naming the missing secret (never a value).
 * @example
 * resolveSecretReferences('postgres://app:${secret:DB_PASSWORD}@db/app', { DB_PASSWORD: 'pw' });
 */
export function resolveSecretReferences(text: string, secrets: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{secret:([A-Za-z_][\w-]*)\}/g, (_, name: string) => {
    const value = secrets[name];
    if (value === undefined)
      throw new SlateError(
        'input',
        'SECRET_NOT_FOUND',
        `data source URL references secret '${name}', which is not set`,
      );
    return encodeURIComponent(value);
  });
}

/** The data sources of the environments this data plane serves, opened on first use. */
export interface DataSourceRegistry {
  /** The sources of one environment by name (opened lazily), with its secrets resolved into the URLs. */
  sourcesFor(
    environment: { id: string; name: string },
    secrets?: Readonly<Record<string, string>>,
  ): SqlSources;
  /** Closes every opened source. */
  close(): Promise<void>;
}

/**
 * Creates the registry of configured data sources. A source is opened (its pool created) the first time a
 * resolver queries it, so a data source that is down fails only the resolvers reading it. Sources are
 * shared by every deployment of an environment and keyed by their resolved URL, so a rotated secret opens a
 * new pool.
 *
 * @throws ZodError for an invalid config.
 * @example
 * const registry = createDataSourceRegistry([{ name: 'app_db', type: 'postgres', url: 'postgres://app:${secret:PW}@db/app' }]);
 */
export function createDataSourceRegistry(configs: readonly DataSourceConfig[]): DataSourceRegistry {
  const parsed = configs.map((config) => DataSourceConfigSchema.parse(config));
  const open = new Map<string, Promise<SqlSource>>();
  return {
    sourcesFor(environment, secrets = {}) {
      const sources = new Map<string, SqlSource>();
      for (const config of parsed) {
        if (
          config.environment !== undefined &&
          config.environment !== environment.id &&
          config.environment !== environment.name
        )
          continue;
        sources.set(config.name, lazySource(config, secrets, open));
      }
      return sources;
    },
    async close() {
      const opened = [...open.values()];
      open.clear();
      await Promise.all(opened.map(async (source) => (await source.catch(() => undefined))?.close()));
    },
  };
}

/** A source whose pool is created on the first query (errors surface on that query). */
function lazySource(
  config: z.infer<typeof DataSourceConfigSchema>,
  secrets: Readonly<Record<string, string>>,
  open: Map<string, Promise<SqlSource>>,
): SqlSource {
  const get = () => {
    const url = config.type === 'pglite' ? '' : resolveSecretReferences(config.url, secrets);
    const key = `${config.type}\u0000${config.type === 'pglite' ? `${config.name}\u0000${config.dataDir ?? ''}` : url}`;
    let source = open.get(key);
    if (!source) {
      const created =
        config.type === 'pglite'
          ? createPgliteSqlSource({ dataDir: config.dataDir, initFile: config.initFile })
          : createSqlSource({ type: config.type, url, maxConnections: config.maxConnections });
      source = Promise.resolve(created);
      open.set(key, source);
    }
    return source;
  };
  return {
    dialect: config.type === 'mysql' ? 'mysql' : 'postgres',
    async init() {
      await (await get()).init();
    },
    async close() {},
    async query(statement, signal) {
      return (await get()).query(statement, signal);
    },
  };
}
