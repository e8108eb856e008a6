import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

/** Where an environment's requests go: the base URLs of its data plane's healthy query instances. */
export interface DataPlaneTarget {
  readonly dataPlaneId: string;
  readonly dataPlaneName: string;
  /** Base URLs, one per healthy instance serving `query` (deduplicated, in instance-id order). */
  readonly urls: readonly string[];
}

/** Picks, for each forwarded request, the data-plane instance that serves it. */
export interface DataPlaneTargets {
  /**
   * The instances to try for one request, the first being the round-robin pick; the caller tries the next
   * only where a retry is safe (an idempotent request that could not connect).
   *
   * @throws SlateError `NO_DATA_PLANE` (unavailable) when the environment is assigned to no data plane;
   *   `DATA_PLANE_UNAVAILABLE` (unavailable) when none of its instances heart-beat recently.
   */
  pick(environmentId: string): Promise<string[]>;
}

export interface DataPlaneTargetsOptions {
  readonly db: Kysely<Database>;
  readonly now: () => Date;
  /** An instance with no heartbeat for this long gets no requests. */
  readonly heartbeatTimeoutMs: number;
  /**
   * How long a looked-up instance list is reused (default 1 s): a database read per query would cost more
   * than the forwarding itself, and a second of staleness is within a heartbeat's own period.
   */
  readonly cacheMs?: number;
  /** Environments whose lists are cached at once (default 10,000); when full the cache is emptied. */
  readonly maxCachedEnvironments?: number;
}

/**
 * Healthy instances of each environment's data plane, read from `data_plane_instances` (heartbeats within
 * the timeout, role `query`) and handed out round robin. A data plane registered before instances existed
 * (no instance rows) is used through its own URL and heartbeat.
 *
 * @example
 * const targets = createDataPlaneTargets({ db, now: () => new Date(), heartbeatTimeoutMs: 60_000 });
 * const [url] = await targets.pick('dev');
 */
export function createDataPlaneTargets(options: DataPlaneTargetsOptions): DataPlaneTargets {
  const cacheMs = options.cacheMs ?? 1000;
  const maxCached = options.maxCachedEnvironments ?? 10_000;
  const cache = new Map<string, { readonly target: DataPlaneTarget; readonly until: number }>();
  // One counter per data plane, so environments sharing it spread together.
  const cursors = new Map<string, number>();

  const lookUp = async (environmentId: string): Promise<DataPlaneTarget> => {
    const now = options.now();
    const plane = await options.db
      .selectFrom('environments')
      .innerJoin('data_planes', 'data_planes.id', 'environments.data_plane_id')
      .select(['data_planes.id', 'data_planes.name', 'data_planes.url', 'data_planes.last_heartbeat_at'])
      .where('environments.id', '=', environmentId)
      .executeTakeFirst();
    if (!plane) {
      throw new SlateError(
        'unavailable',
        'NO_DATA_PLANE',
        `environment ${environmentId} is served by no data plane: register one (slate data-plane, or SLATE_METADATA_PLANE_URL on a data plane) and it is assigned the environment`,
        { environment_id: environmentId },
      );
    }
    const since = now.getTime() - options.heartbeatTimeoutMs;
    const instances = await options.db
      .selectFrom('data_plane_instances')
      .select(['url', 'roles', 'last_heartbeat_at'])
      .where('data_plane_id', '=', plane.id)
      .orderBy('instance_id')
      .execute();
    const alive = (at: Date | null) => at !== null && at.getTime() >= since;
    const urls =
      instances.length === 0
        ? alive(plane.last_heartbeat_at)
          ? [plane.url]
          : []
        : [
            ...new Set(
              instances
                .filter((i) => alive(i.last_heartbeat_at) && rolesOf(i.roles).includes('query'))
                .map((i) => i.url),
            ),
          ];
    return { dataPlaneId: plane.id, dataPlaneName: plane.name, urls };
  };

  return {
    async pick(environmentId) {
      const clock = options.now().getTime();
      let entry = cache.get(environmentId);
      if (!entry || entry.until <= clock) {
        if (cache.size >= maxCached) cache.clear();
        entry = { target: await lookUp(environmentId), until: clock + cacheMs };
        cache.set(environmentId, entry);
      }
      const { target } = entry;
      if (target.urls.length === 0) {
        throw new SlateError(
          'unavailable',
          'DATA_PLANE_UNAVAILABLE',
          `data plane ${target.dataPlaneName} has no healthy query instance (no heartbeat within ${Math.round(options.heartbeatTimeoutMs / 1000)} s)`,
          { data_plane: target.dataPlaneName, retryAfterS: 1 },
        );
      }
      const cursor = cursors.get(target.dataPlaneId) ?? 0;
      cursors.set(target.dataPlaneId, (cursor + 1) % 1_000_000_007);
      const start = cursor % target.urls.length;
      return [...target.urls.slice(start), ...target.urls.slice(0, start)];
    },
  };
}

function rolesOf(roles: unknown): string[] {
  const parsed: unknown = typeof roles === 'string' ? JSON.parse(roles) : roles;
  return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
}
