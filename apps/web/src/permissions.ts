/**
 * Permissions a service token can carry, grouped for the create form. Chalk's slugs (chalk.md §5.2); the
 * server rejects any the caller does not hold itself.
 */
export const TOKEN_PERMISSION_GROUPS: readonly {
  label: string;
  permissions: readonly { slug: string; hint: string }[];
}[] = [
  {
    label: 'Query',
    permissions: [
      { slug: 'query.online', hint: 'Run online queries' },
      { slug: 'query.offline', hint: 'Run offline queries' },
      { slug: 'query.offline_read', hint: 'Read offline query results' },
    ],
  },
  {
    label: 'Deploy',
    permissions: [
      { slug: 'deploy.read', hint: 'See deployments' },
      { slug: 'deploy.create', hint: 'Deploy (CI)' },
      { slug: 'deploy.preview', hint: 'Branch deployments' },
      { slug: 'deploy.redeploy', hint: 'Roll back' },
    ],
  },
  {
    label: 'Operate',
    permissions: [
      { slug: 'logs.list', hint: 'Read logs' },
      { slug: 'monitoring.read', hint: 'Read charts and alerts' },
      { slug: 'cron.read', hint: 'See scheduled runs' },
      { slug: 'cron.create', hint: 'Trigger runs' },
    ],
  },
  {
    label: 'Secrets and tokens',
    permissions: [
      { slug: 'secrets.list', hint: 'List secret names' },
      { slug: 'secrets.write', hint: 'Set secrets' },
      { slug: 'tokens.list', hint: 'See client ids' },
      { slug: 'tokens.write', hint: 'Create and revoke tokens' },
    ],
  },
];

/** Built-in roles that hold `cron.create` (the metadata plane's role table: owners, admins, developers). */
const CRON_CREATE_ROLES: ReadonlySet<string> = new Set(['owner', 'admin', 'developer']);
const BUILT_IN_ROLES: ReadonlySet<string> = new Set(['owner', 'admin', 'developer', 'viewer']);

/**
 * Whether someone with `role` in the environment's team may pause and resume schedules (`cron.create`).
 * A custom role's permissions are not known here: the button shows and the metadata plane decides.
 */
export function canControlSchedules(role: string | undefined): boolean {
  if (role === undefined) return false;
  return CRON_CREATE_ROLES.has(role) || !BUILT_IN_ROLES.has(role);
}

/**
 * The permissions `roleId` grants, from the team's role list (`GET /v1/teams/:id/roles`, built-in and
 * custom roles alike); `undefined` when the role is not in the list (a role deleted meanwhile).
 */
export function permissionsOfRole(
  roleId: string | undefined,
  roles: readonly { readonly id: string; readonly permissions: readonly string[] }[],
): ReadonlySet<string> | undefined {
  const role = roles.find((r) => r.id === roleId);
  return role ? new Set(role.permissions) : undefined;
}

/** Every permission some role of the team grants (owners hold them all), sorted: the custom-role form's choices. */
export function allPermissions(roles: readonly { readonly permissions: readonly string[] }[]): string[] {
  return [...new Set(roles.flatMap((r) => r.permissions))].sort();
}
