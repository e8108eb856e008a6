import type { ReactNode } from 'react';
import type { Me } from '../api/index.ts';
import { Link, type Route } from '../router.tsx';

const NAV: readonly { label: string; to: string; active: (r: Route) => boolean }[] = [
  {
    label: 'Environments',
    to: '/',
    active: (r) => ['environments', 'environment', 'query', 'feature', 'resolver'].includes(r.kind),
  },
  { label: 'Teams', to: '/teams', active: (r) => r.kind === 'teams' },
  { label: 'Secrets', to: '/secrets', active: (r) => r.kind === 'secrets' },
  { label: 'Tokens', to: '/tokens', active: (r) => r.kind === 'tokens' },
  { label: 'Audit log', to: '/audit-log', active: (r) => r.kind === 'audit-log' },
];

/** The frame around every signed-in page: brand, navigation, who is signed in. */
export function AppShell({
  me,
  route,
  onLogout,
  children,
}: {
  me: Me;
  route: Route;
  onLogout: () => void;
  children: ReactNode;
}) {
  const team = me.teams[0];
  return (
    <div className="shell">
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand" aria-label="Slate home">
            <BrandMark />
            <span>Slate</span>
          </Link>
          <nav className="nav" aria-label="Main">
            {NAV.map((item) => (
              <Link
                key={item.to}
                to={item.to}
                className="nav-link"
                aria-current={item.active(route) ? 'page' : undefined}
              >
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="topbar-user">
            <span className="user-text">
              <span className="user-email">{me.user.email}</span>
              {team && (
                <span className="user-team">
                  {team.name} · {team.role}
                  {me.teams.length > 1 && ` (+${me.teams.length - 1})`}
                </span>
              )}
            </span>
            <button type="button" className="button button-ghost button-small" onClick={onLogout}>
              Log out
            </button>
          </div>
        </div>
      </header>
      <main className="main">{children}</main>
    </div>
  );
}

export function BrandMark() {
  return (
    <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
      <rect width="16" height="16" rx="3.5" fill="#2d3a4a" />
      <rect x="3" y="4" width="10" height="2" rx="1" fill="#fff" />
      <rect x="3" y="7" width="7" height="2" rx="1" fill="#9fc3e6" />
      <rect x="3" y="10" width="10" height="2" rx="1" fill="#fff" />
    </svg>
  );
}
