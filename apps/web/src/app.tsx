import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, createHttpClient, createSlateApi, type Me, type SlateApi } from './api/index.ts';
import { ApiProvider } from './api-context.tsx';
import { AppShell } from './components/app-shell.tsx';
import { EmptyState, ErrorState, Loading } from './components/states.tsx';
import { MeProvider } from './me-context.tsx';
import { EnvironmentsPage } from './pages/environments-page.tsx';
import { type LoginNotice, LoginPage } from './pages/login-page.tsx';
import { TokensPage } from './pages/tokens-page.tsx';
import { Link, navigate, type Route, useRoute } from './router.tsx';

// The pages with charts load uPlot; split them out so sign-in and the overview stay light.
const EnvironmentPage = lazy(() =>
  import('./pages/environment-page.tsx').then((m) => ({ default: m.EnvironmentPage })),
);
// The playground loads a Parquet reader for previews; the catalog pages draw lineage.
const QueryPage = lazy(() => import('./playground/query-page.tsx').then((m) => ({ default: m.QueryPage })));
const CatalogEntryPage = lazy(() =>
  import('./catalog/catalog-entry-page.tsx').then((m) => ({ default: m.CatalogEntryPage })),
);
const TeamsPage = lazy(() => import('./pages/teams-page.tsx').then((m) => ({ default: m.TeamsPage })));
const SecretsPage = lazy(() => import('./pages/secrets-page.tsx').then((m) => ({ default: m.SecretsPage })));
const DevicePage = lazy(() => import('./pages/device-page.tsx').then((m) => ({ default: m.DevicePage })));
const AuditLogPage = lazy(() =>
  import('./pages/audit-log-page.tsx').then((m) => ({ default: m.AuditLogPage })),
);

type Session =
  | { readonly kind: 'checking' }
  | { readonly kind: 'anonymous'; readonly notice?: LoginNotice }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'user'; readonly me: Me };

/**
 * A 401 while signed in means the session ended (expired, or signed out elsewhere): say so on the login
 * page. Otherwise keep the state, so a refused sign-in does not wipe the page's notice.
 */
function afterUnauthenticated(session: Session): Session {
  if (session.kind === 'user') return { kind: 'anonymous', notice: 'expired' };
  return session.kind === 'anonymous' ? session : { kind: 'anonymous' };
}

/**
 * The app: checks the session with `GET /v1/me`, shows the login page without one (and again whenever any
 * call answers 401, at the same URL, so signing in again returns to the page), and otherwise the page for
 * the current URL.
 */
export function App({ api: given, fetch }: { api?: SlateApi; fetch?: typeof globalThis.fetch }) {
  const [session, setSession] = useState<Session>({ kind: 'checking' });
  const api = useMemo(
    () =>
      given ??
      createSlateApi(createHttpClient({ fetch, onUnauthenticated: () => setSession(afterUnauthenticated) })),
    [given, fetch],
  );
  const route = useRoute();

  const check = useCallback(() => {
    setSession({ kind: 'checking' });
    api.me().then(
      (me) => setSession({ kind: 'user', me }),
      (error: unknown) =>
        setSession((previous) => {
          if (!(error instanceof ApiError && error.unauthenticated)) return { kind: 'failed', error };
          // A cookie the server no longer honours (the tab reopened a week later): say why, as a 401
          // in the middle of the session would. Without a cookie the answer is a plain sign-in page.
          if (error.code === 'INVALID_SESSION') return { kind: 'anonymous', notice: 'expired' };
          return previous.kind === 'anonymous' ? previous : { kind: 'anonymous' };
        }),
    );
  }, [api]);
  useEffect(check, [check]);

  useEffect(() => {
    if (session.kind === 'user' && route.kind === 'login') navigate('/', { replace: true });
  }, [session.kind, route.kind]);

  const logout = async () => {
    await api.logout().catch(() => undefined);
    setSession({ kind: 'anonymous', notice: 'signed-out' });
    navigate('/login');
  };

  return (
    <ApiProvider api={api}>
      {session.kind === 'checking' && (
        <div className="center-page">
          <Loading rows={2} label="Checking your session…" />
        </div>
      )}
      {session.kind === 'failed' && (
        <div className="center-page">
          <ErrorState error={session.error} onRetry={check} title="Slate is not answering" />
        </div>
      )}
      {session.kind === 'anonymous' && (
        <LoginPage
          onLoggedIn={check}
          returnTo={route.kind === 'login' ? '/' : hrefOfLocation()}
          notice={session.notice}
          error={route.kind === 'login' ? route.error : undefined}
        />
      )}
      {session.kind === 'user' && (
        <MeProvider me={session.me}>
          <AppShell me={session.me} route={route} onLogout={logout}>
            <Suspense fallback={<Loading rows={4} />}>
              <Page route={route} />
            </Suspense>
          </AppShell>
        </MeProvider>
      )}
    </ApiProvider>
  );
}

/** The current page's path and query, for coming back to it after an OIDC sign-in. */
function hrefOfLocation(): string {
  return window.location.pathname + window.location.search;
}

function Page({ route }: { route: Route }) {
  switch (route.kind) {
    case 'login':
    case 'environments':
      return <EnvironmentsPage />;
    case 'environment':
      return <EnvironmentPage key={route.id} id={route.id} tab={route.tab} />;
    case 'tokens':
      return <TokensPage environmentId={route.environmentId} />;
    case 'query':
      return <QueryPage key={route.environmentId} environmentId={route.environmentId} />;
    case 'feature':
    case 'resolver':
      return (
        <CatalogEntryPage
          key={`${route.environmentId}/${route.kind}/${route.fqn}`}
          environmentId={route.environmentId}
          kind={route.kind}
          fqn={route.fqn}
        />
      );
    case 'audit-log':
      return <AuditLogPage />;
    case 'teams':
      return <TeamsPage teamId={route.teamId} tab={route.tab} />;
    case 'secrets':
      return <SecretsPage environmentId={route.environmentId} />;
    case 'device':
      return <DevicePage code={route.code} />;
    case 'not-found':
      return (
        <EmptyState title="Page not found">
          Nothing lives at <code>{route.path}</code>. <Link to="/">Go to environments</Link>.
        </EmptyState>
      );
  }
}
