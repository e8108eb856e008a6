import { SlateError } from '@slate/graph';

/**
 * What a data-plane process can run. Each role scales on its own:
 * - `query`: the query server (online, feather and offline-query submission, uploads, stream publishing);
 *   stateless, any replica answers any query;
 * - `persistence`: background persistence, a member of the result bus's consumer group;
 * - `streaming`: streaming resolvers, members of each stream's consumer group;
 * - `jobs`: leased scheduled triggers (cron resolvers, scheduled queries) and the take-over of offline
 *   queries whose replica died.
 */
export const DATA_PLANE_ROLES = ['query', 'persistence', 'streaming', 'jobs'] as const;
export type DataPlaneRole = (typeof DATA_PLANE_ROLES)[number];

/**
 * Parses `SLATE_ROLE`: `all` (every role, the default) or a comma list of roles (`query,jobs`).
 *
 * @throws SlateError input `INVALID_ROLE` naming what is not a role, or when the list is empty.
 * @example
 * parseRoles('query,jobs'); // Set { 'query', 'jobs' }
 */
export function parseRoles(text: string | undefined): ReadonlySet<DataPlaneRole> {
  const value = (text ?? 'all').trim();
  if (value === '' || value === 'all') return new Set(DATA_PLANE_ROLES);
  const parts = value.split(',').map((part) => part.trim());
  const unknown = parts.filter((part) => !(DATA_PLANE_ROLES as readonly string[]).includes(part));
  if (unknown.length > 0) {
    throw new SlateError(
      'input',
      'INVALID_ROLE',
      `SLATE_ROLE: ${unknown.map((u) => JSON.stringify(u)).join(', ')} is not a role; use all or a comma list of ${DATA_PLANE_ROLES.join(', ')}`,
      { unknown },
    );
  }
  return new Set(parts as DataPlaneRole[]);
}
