import { formatDateTime, formatRelative } from '../format.ts';

/** "5 min ago", with the exact local time on hover and in the `datetime` attribute. */
export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
