import type { Role } from '@slate/client';
import { useApi } from '../api-context.tsx';
import { useMe } from '../me-context.tsx';
import { permissionsOfRole } from '../permissions.ts';
import { type Resource, useResource } from './use-resource.ts';

/** What the signed-in user may do in one team, by their team role. */
export interface TeamPermissions {
  /** The team's roles (built-in and custom), as `GET /v1/teams/:id/roles` lists them. */
  readonly roles: Resource<Role[]>;
  /** The user's role in the team (a built-in name or a custom role's id); undefined if not a member. */
  readonly role: string | undefined;
  /**
   * Whether the team role grants `permission`: false while the roles load or when it does not. An
   * environment role can add permissions inside one environment, which this does not see; the metadata
   * plane decides in the end, and the page shows its refusal.
   */
  can(permission: string): boolean;
  reloadRoles(): void;
}

/**
 * Loads a team's roles and answers what the signed-in user's role there grants.
 *
 * @example
 * const perms = useTeamPermissions(env.team_id);
 * <button disabled={!perms.can('secrets.write')}>Set secret</button>
 */
export function useTeamPermissions(teamId: string | undefined): TeamPermissions {
  const api = useApi();
  const me = useMe();
  const [roles, reloadRoles] = useResource(
    async (signal) => (teamId ? (await api.admin.roles(teamId, signal)).items : []),
    [api, teamId],
  );
  const role = me.teams.find((t) => t.id === teamId)?.role;
  const granted = roles.status === 'ready' ? permissionsOfRole(role, roles.data) : undefined;
  return { roles, role, can: (permission) => granted?.has(permission) ?? false, reloadRoles };
}
