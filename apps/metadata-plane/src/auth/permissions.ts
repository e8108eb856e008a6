import { z } from 'zod';

/** Permission slugs (Chalk's names, chalk.md §5.2) that the metadata plane knows about. */
export const PERMISSIONS = [
  'query.online',
  'query.offline',
  'query.offline_read',
  'monitoring.create',
  'monitoring.read',
  'team.add',
  'team.delete',
  'team.list',
  'team.admin',
  'deploy.read',
  'deploy.create',
  'deploy.preview',
  'deploy.redeploy',
  'logs.list',
  'cron.read',
  'cron.create',
  'secrets.write',
  'secrets.decrypt',
  'secrets.list',
  'tokens.write',
  'tokens.list',
  'project.create',
  'environment.create',
  'billing.read',
  'infrastructure.read',
  'models.read',
  'models.write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const PermissionSchema = z.enum(PERMISSIONS);

export const ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

const byPrefix = (...prefixes: string[]): Permission[] =>
  PERMISSIONS.filter((p) => prefixes.some((prefix) => p.startsWith(prefix)));

/**
 * The one role → permissions table. Owners and admins hold everything; developers deploy, query and read
 * operational data; viewers only read.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set(PERMISSIONS),
  developer: new Set<Permission>([
    ...byPrefix('query.', 'deploy.', 'cron.', 'models.'),
    'logs.list',
    'secrets.list',
    'tokens.list',
    'monitoring.read',
    'team.list',
    'infrastructure.read',
  ]),
  viewer: new Set<Permission>([
    'deploy.read',
    'logs.list',
    'monitoring.read',
    'cron.read',
    'team.list',
    'models.read',
  ]),
};

/** Whether `role` names a built-in role (anything else is a custom role id). */
export function isBuiltInRole(role: string): role is Role {
  return (ROLES as readonly string[]).includes(role);
}

/** The permissions of a role, as a sorted array (what goes into a user's JWT `perms` claim). */
export function permissionsOfRole(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]].sort();
}
