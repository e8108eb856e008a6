import type { DeploymentStatus } from './api/index.ts';

/** How a status reads at a glance; charts and badges colour by category, not by each of 13 statuses. */
export type StatusCategory = 'success' | 'failed' | 'progress' | 'inactive';

const CATEGORY: Readonly<Record<string, StatusCategory>> = {
  SUCCESS: 'success',
  // Offline-query revisions (`POST /v4/offline_query`).
  COMPLETED: 'success',
  FAILED: 'failed',
  FAILURE: 'failed',
  INTERNAL_ERROR: 'failed',
  TIMEOUT: 'failed',
  BOOT_ERRORS: 'failed',
  PENDING: 'progress',
  QUEUED: 'progress',
  WORKING: 'progress',
  DEPLOYING: 'progress',
  AWAITING_SOURCE: 'progress',
  CANCELLED: 'inactive',
  EXPIRED: 'inactive',
  UNKNOWN: 'inactive',
};

/** A status's category; a status this UI does not know (a newer server's, a job's) is `inactive`. */
export function statusCategory(status: string): StatusCategory {
  return CATEGORY[status as DeploymentStatus] ?? 'inactive';
}

/** Bottom-to-top stacking order in charts, with labels and colours shared by badges and legends. */
export const STATUS_CATEGORIES: readonly { key: StatusCategory; label: string; color: string }[] = [
  { key: 'success', label: 'Succeeded', color: '#2f9e6b' },
  { key: 'failed', label: 'Failed', color: '#d1495b' },
  { key: 'progress', label: 'In progress', color: '#e0a030' },
  { key: 'inactive', label: 'Cancelled / other', color: '#9aa5b1' },
];

/** "BOOT_ERRORS" → "Boot errors". */
export function statusLabel(status: string): string {
  const s = status.toLowerCase().replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Statuses of long-running work (offline queries, resolver runs) as the metadata plane lists them. A canceled
 * run is `CANCELED` (someone stopped it), not a failure.
 */
export const BATCH_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

const BATCH_CATEGORY: Readonly<Record<string, StatusCategory>> = {
  QUEUED: 'progress',
  RUNNING: 'progress',
  SUCCEEDED: 'success',
  FAILED: 'failed',
  CANCELED: 'inactive',
};

/** The category (and so the colour) of a batch status; an unknown status from a newer plane reads as other. */
export function batchStatusCategory(status: string): StatusCategory {
  return BATCH_CATEGORY[status] ?? 'inactive';
}

/** Whether a batch status is final: the job has a final report (or will, once the data plane sends it). */
export function batchStatusFinished(status: string): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELED';
}

/** The colour of a status category (the one badges, legends and charts share). */
export function categoryColor(category: StatusCategory): string {
  return STATUS_CATEGORIES.find((c) => c.key === category)?.color ?? '#9aa5b1';
}
