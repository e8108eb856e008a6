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
