/**
 * A deployment's statuses, as the seed product names them (`Deployment.status`, chalk.md §4). Shared by the
 * metadata plane, which sets them, and every client that reads them.
 */
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

/** Statuses after which a deployment never serves. */
export const FAILED_DEPLOYMENT_STATUSES: ReadonlySet<DeploymentStatus> = new Set([
  'FAILURE',
  'INTERNAL_ERROR',
  'TIMEOUT',
  'CANCELLED',
  'EXPIRED',
  'BOOT_ERRORS',
]);
