import type { ReactNode } from 'react';
import { ApiError } from '../api/index.ts';

/** Placeholder rows while data loads; shaped like what is coming so the page does not jump. */
export function Loading({ rows = 3, label = 'Loading…' }: { rows?: number; label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
        <div key={i} className="skeleton" style={{ width: `${92 - i * 14}%` }} />
      ))}
    </div>
  );
}

/** What went wrong, in words, with the server's code and trace for a bug report, and a retry. */
export function ErrorState({
  error,
  onRetry,
  title = 'Something went wrong',
}: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
}) {
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  const heading =
    api?.status === 403 ? 'You don’t have access to this' : api?.status === 404 ? 'Not found' : title;
  return (
    <div className="state state-error" role="alert">
      <div className="state-title">{heading}</div>
      <p className="state-text">{message}</p>
      {api && (
        <p className="state-meta">
          {api.status > 0 && <>HTTP {api.status} · </>}
          <code>{api.code}</code>
          {api.trace && (
            <>
              {' '}
              · trace <code>{api.trace}</code>
            </>
          )}
        </p>
      )}
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** An empty list explained, with what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state">
      <div className="state-title">{title}</div>
      {children && <div className="state-text">{children}</div>}
    </div>
  );
}
