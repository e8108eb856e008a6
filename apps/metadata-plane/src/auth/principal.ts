import { SlateError } from '@slate/graph';
import { noteAuditTeam } from '../audit/audit-scope.ts';
import type { Permission } from './permissions.ts';

/** A service token acting inside its one environment. */
export interface ServiceTokenPrincipal {
  readonly kind: 'service_token';
  /** The token id (the JWT `sub`). */
  readonly id: string;
  readonly clientId: string;
  readonly environmentId: string;
  readonly teamId: string;
  readonly projectId: string;
  readonly permissions: ReadonlySet<Permission>;
}

/**
 * A person, by session cookie or user JWT. Permissions come from their role in each team (built-in or
 * custom), plus any environment role, which adds permissions inside that one environment.
 */
export interface UserPrincipal {
  readonly kind: 'user';
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly via: 'session' | 'bearer';
  /** team id → role (a built-in role name or a custom role id). */
  readonly memberships: ReadonlyMap<string, string>;
  /** team id → what the team role grants. */
  readonly teamPermissions: ReadonlyMap<string, ReadonlySet<Permission>>;
  /** environment id → what an environment role adds there (`teamId` is the environment's team). */
  readonly environmentPermissions: ReadonlyMap<
    string,
    { readonly teamId: string; readonly permissions: ReadonlySet<Permission> }
  >;
  /** The environment a user JWT was issued for, if any. */
  readonly environmentId: string | null;
}

export type Principal = ServiceTokenPrincipal | UserPrincipal;

/** Where an action happens: the team, and the environment when the resource lives in one. */
export interface Scope {
  readonly teamId: string;
  readonly environmentId?: string;
}

/** Whether the principal holds `permission` somewhere (used to reject early, before loading resources). */
export function holdsAnywhere(principal: Principal, permission: Permission): boolean {
  if (principal.kind === 'service_token') return principal.permissions.has(permission);
  for (const granted of principal.teamPermissions.values()) if (granted.has(permission)) return true;
  for (const env of principal.environmentPermissions.values())
    if (env.permissions.has(permission)) return true;
  return false;
}

/** Whether the principal may do `permission` in `scope`. */
export function can(principal: Principal, permission: Permission, scope: Scope): boolean {
  if (principal.kind === 'service_token') {
    if (principal.teamId !== scope.teamId) return false;
    if (scope.environmentId !== undefined && scope.environmentId !== principal.environmentId) return false;
    return principal.permissions.has(permission);
  }
  if (principal.teamPermissions.get(scope.teamId)?.has(permission)) return true;
  if (scope.environmentId === undefined) return false;
  const env = principal.environmentPermissions.get(scope.environmentId);
  return env !== undefined && env.teamId === scope.teamId && env.permissions.has(permission);
}

/**
 * @throws SlateError('not_allowed', 'PERMISSION_DENIED') when `can` is false.
 * @example
 * assertCan(principal, 'deploy.create', { teamId: env.team_id, environmentId: env.id });
 */
export function assertCan(principal: Principal, permission: Permission, scope: Scope): void {
  // Allowed or not, the attempt belongs in the audit log of the team whose resource it was about.
  noteAuditTeam(scope.teamId);
  if (!can(principal, permission, scope)) {
    const where = scope.environmentId ? `environment ${scope.environmentId}` : `team ${scope.teamId}`;
    throw new SlateError('not_allowed', 'PERMISSION_DENIED', `missing permission ${permission} in ${where}`, {
      permission,
    });
  }
}

/** A stable, non-secret label for logs and the audit log: `user:<id>` or `token:<id>`. */
export function principalLabel(principal: Principal | null): string {
  if (!principal) return 'anonymous';
  return principal.kind === 'user' ? `user:${principal.id}` : `token:${principal.id}`;
}
