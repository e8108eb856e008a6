import type { DeploymentStatus } from './api/index.ts';

/** How a status reads at a glance; charts and badges colour by category, not by each of 13 statuses. */
export type StatusCategory = 'success' | 'failed' | 'progress' | 'inactive';

const CATEGORY: Readonly<Record<string, StatusCategory>> = {
  SUCCESS: 'success',
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

export function statusCategory(status: DeploymentStatus): StatusCategory {
  return CATEGORY[status] ?? 'inactive';
}

/** Bottom-to-top stacking order in charts, with labels and colours shared by badges and legends. */
export const STATUS_CATEGORIES: readonly { key: StatusCategory; label: string; color: string }[] = [
  { key: 'success', label: 'Succeeded', color: '#2f9e6b' },
  { key: 'failed', label: 'Failed', color: '#d1495b' },
  { key: 'progress', label: 'In progress', color: '#e0a030' },
  { key: 'inactive', label: 'Cancelled / other', color: '#9aa5b1' },
];

/** "BOOT_ERRORS" → "Boot errors". */
export function statusLabel(status: DeploymentStatus): string {
  const s = status.toLowerCase().replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
