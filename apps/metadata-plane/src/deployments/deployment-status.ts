/** Deployment statuses, as Chalk's `Deployment.status` (chalk.md §4). */
export const DEPLOYMENT_STATUSES = [
  'UNKNOWN',
  'PENDING',
  'QUEUED',
  'WORKING',
  'SUCCESS',
  'FAILURE',
  'INTERNAL_ERROR',
  'TIMEOUT',
  'CANCELLED',
  'EXPIRED',
  'BOOT_ERRORS',
  'AWAITING_SOURCE',
  'DEPLOYING',
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];
