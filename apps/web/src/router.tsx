import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

/** The sections of an environment's page. */
export type EnvironmentTab = 'deployments' | 'catalog' | 'schedules' | 'serving';

/** The sections of a team's administration page. */
export type TeamTab = 'projects' | 'members' | 'roles';

/** Every screen of the app, parsed from the URL. Unknown paths become `not-found`. */
export type Route =
  /** `error`: the stable code of a refused sign-in, from the server's OIDC redirect (`/login?error=…`). */
  | { readonly kind: 'login'; readonly error?: string }
  | { readonly kind: 'environments' }
  | { readonly kind: 'environment'; readonly id: string; readonly tab: EnvironmentTab }
  | { readonly kind: 'tokens'; readonly environmentId: string | null }
  /** The query playground: online and offline queries through the API host. */
  | { readonly kind: 'query'; readonly environmentId: string }
  /** One feature or resolver of the environment's active deployment (`fqn` as in the graph). */
  | { readonly kind: 'feature' | 'resolver'; readonly environmentId: string; readonly fqn: string }
  | { readonly kind: 'audit-log' }
  | { readonly kind: 'teams'; readonly teamId: string | null; readonly tab: TeamTab }
  | { readonly kind: 'secrets'; readonly environmentId: string | null }
  /** Approving a `slate login` from a terminal: `code` prefilled from the link the CLI opened. */
  | { readonly kind: 'device'; readonly code: string | null }
  | { readonly kind: 'not-found'; readonly path: string };

/** Parses a pathname and search string into a {@link Route}. */
export function parseRoute(pathname: string, search = ''): Route {
  const params = new URLSearchParams(search);
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third, fourth] = parts;
  if (parts.length === 0) return { kind: 'environments' };
  if (first === 'login' && parts.length === 1) {
    const error = params.get('error');
    return error ? { kind: 'login', error } : { kind: 'login' };
  }
  if (first === 'environments' && parts.length === 1) return { kind: 'environments' };
  if (first === 'environments' && second && parts.length <= 3) {
    if (third === undefined || third === 'deployments')
      return { kind: 'environment', id: second, tab: 'deployments' };
    if (third === 'catalog') return { kind: 'environment', id: second, tab: 'catalog' };
    if (third === 'schedules') return { kind: 'environment', id: second, tab: 'schedules' };
    if (third === 'serving') return { kind: 'environment', id: second, tab: 'serving' };
    if (third === 'tokens') return { kind: 'tokens', environmentId: second };
    if (third === 'secrets') return { kind: 'secrets', environmentId: second };
    if (third === 'query') return { kind: 'query', environmentId: second };
  }
  if (first === 'environments' && second && fourth && parts.length === 4) {
    if (third === 'features') return { kind: 'feature', environmentId: second, fqn: fourth };
    if (third === 'resolvers') return { kind: 'resolver', environmentId: second, fqn: fourth };
  }
  if (first === 'teams' && parts.length <= 3) {
    if (!second) return { kind: 'teams', teamId: null, tab: 'projects' };
    if (third === undefined) return { kind: 'teams', teamId: second, tab: 'projects' };
    if (third === 'members' || third === 'roles') return { kind: 'teams', teamId: second, tab: third };
  }
  if (first === 'secrets' && parts.length === 1)
    return { kind: 'secrets', environmentId: params.get('environment') };
  if (first === 'tokens' && parts.length === 1)
    return { kind: 'tokens', environmentId: params.get('environment') };
  if (first === 'audit-log' && parts.length === 1) return { kind: 'audit-log' };
  if (first === 'device' && parts.length === 1) return { kind: 'device', code: params.get('code') };
  return { kind: 'not-found', path: pathname };
}

/** The canonical URL of a route. */
export function hrefOf(route: Route): string {
  const enc = encodeURIComponent;
  switch (route.kind) {
    case 'login':
      return route.error ? `/login?error=${enc(route.error)}` : '/login';
    case 'environments':
      return '/';
    case 'environment':
      return `/environments/${enc(route.id)}${route.tab === 'deployments' ? '' : `/${route.tab}`}`;
    case 'tokens':
      return route.environmentId ? `/environments/${enc(route.environmentId)}/tokens` : '/tokens';
    case 'query':
      return `/environments/${enc(route.environmentId)}/query`;
    case 'feature':
    case 'resolver':
      return `/environments/${enc(route.environmentId)}/${route.kind}s/${enc(route.fqn)}`;
    case 'audit-log':
      return '/audit-log';
    case 'teams':
      if (!route.teamId) return '/teams';
      return `/teams/${enc(route.teamId)}${route.tab === 'projects' ? '' : `/${route.tab}`}`;
    case 'secrets':
      return route.environmentId ? `/environments/${enc(route.environmentId)}/secrets` : '/secrets';
    case 'device':
      return route.code ? `/device?code=${enc(route.code)}` : '/device';
    case 'not-found':
      return route.path;
  }
}

const NAVIGATE_EVENT = 'slate:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current route; re-renders on back/forward and on {@link navigate}. */
export function useRoute(): Route {
  const location = useSyncExternalStore(subscribe, snapshot, () => '/');
  const q = location.indexOf('?');
  return q === -1 ? parseRoute(location) : parseRoute(location.slice(0, q), location.slice(q));
}

/** Client-side navigation (history API); `replace` keeps the current entry out of history. */
export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.scrollTo?.({ top: 0 });
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { readonly to: string | Route };

/** An `<a>` that navigates without a page load, but still opens in a new tab with a modifier key. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const href = typeof to === 'string' ? to : hrefOf(to);
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    if (rest.target && rest.target !== '_self') return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
