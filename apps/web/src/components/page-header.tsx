import type { ReactNode } from 'react';

/** Title, optional breadcrumb above it, a line of context below, and actions on the right. */
export function PageHeader({
  title,
  crumbs,
  subtitle,
  actions,
}: {
  title: ReactNode;
  crumbs?: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div className="page-header-text">
        {crumbs && (
          <nav className="crumbs" aria-label="Breadcrumb">
            {crumbs}
          </nav>
        )}
        <h1>{title}</h1>
        {subtitle && <div className="page-subtitle">{subtitle}</div>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}
