import { statusCategory, statusLabel } from '../status.ts';

/** A deployment status as a coloured pill; the colour follows the status category. */
export function StatusBadge({ status }: { status: string }) {
  const category = statusCategory(status);
  return (
    <span className={`badge badge-${category}`} title={status}>
      <span className="badge-dot" aria-hidden="true" />
      {statusLabel(status)}
    </span>
  );
}

/** A neutral or toned pill for things that are not deployment statuses (health, outcomes, roles). */
export function Pill({
  tone = 'neutral',
  children,
}: {
  tone?: 'neutral' | 'success' | 'failed' | 'progress';
  children: string;
}) {
  return <span className={`badge badge-${tone === 'neutral' ? 'inactive' : tone}`}>{children}</span>;
}
