import { type FormEvent, useState } from 'react';
import { ApiError, type AuthProviders, queryString } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { BrandMark } from '../components/app-shell.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';

/** Why the login page is showing, when it is not a first visit. */
export type LoginNotice = 'expired' | 'signed-out';

export interface LoginPageProps {
  readonly onLoggedIn: () => void;
  /** Where an OIDC sign-in comes back to (a path on this site); the email form stays on the page. */
  readonly returnTo: string;
  readonly notice?: LoginNotice;
  /** The stable code of a refused OIDC sign-in (`/login?error=…`, set by the server's callback). */
  readonly error?: string;
}

/**
 * Sign-in: a button per identity provider the server lists (`GET /v1/auth/providers`), each starting the
 * OIDC redirect flow, and the email form when the server is embedded (`slate up`). The server decides both;
 * the page only shows what it offers.
 */
export function LoginPage({ onLoggedIn, returnTo, notice, error }: LoginPageProps) {
  const api = useApi();
  const [methods, reload] = useResource((signal) => signInMethods(api.authProviders(signal)), [api]);

  return (
    <div className="login">
      <main className="login-card" aria-labelledby="login-title">
        <div className="login-brand">
          <BrandMark />
          <span>Slate</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        {notice && !error && (
          <div className="login-notice" role="status">
            {notice === 'expired'
              ? 'Your session has expired. Sign in again to continue where you left off.'
              : 'You have signed out.'}
          </div>
        )}
        {error && (
          <div className="form-error" role="alert">
            {oidcErrorMessage(error)}
          </div>
        )}
        {methods.status === 'loading' && <Loading rows={2} label="Loading sign-in methods…" />}
        {methods.status === 'error' && (
          <ErrorState error={methods.error} onRetry={reload} title="Cannot reach Slate" />
        )}
        {methods.status === 'ready' && (
          <SignInMethods methods={methods.data} returnTo={returnTo} onLoggedIn={onLoggedIn} />
        )}
      </main>
    </div>
  );
}

function SignInMethods({
  methods,
  returnTo,
  onLoggedIn,
}: {
  methods: AuthProviders;
  returnTo: string;
  onLoggedIn: () => void;
}) {
  if (methods.providers.length === 0 && !methods.local_login) {
    return (
      <p className="muted">
        No sign-in method is configured on this server. An operator enables Google with{' '}
        <code>GOOGLE_CLIENT_ID</code> and <code>GOOGLE_CLIENT_SECRET</code>, or any OpenID Connect provider
        with <code>SLATE_OIDC_ISSUER</code>, <code>SLATE_OIDC_CLIENT_ID</code> and{' '}
        <code>SLATE_OIDC_CLIENT_SECRET</code>.
      </p>
    );
  }
  // A lone way in is the page's call to action; several are equals.
  const only = methods.providers.length === 1 && !methods.local_login;
  return (
    <>
      {methods.providers.length > 0 && !methods.local_login && (
        <p className="muted">Use your organization’s account.</p>
      )}
      {methods.providers.length > 0 && (
        <div className="login-providers">
          {methods.providers.map((p) => (
            // A full page navigation: the server redirects to the provider, which redirects back to it.
            <a
              key={p.id}
              className={`button button-block login-provider${only ? ' button-primary' : ''}`}
              href={`${p.login_url}${queryString({ return_to: returnTo === '/' ? undefined : returnTo })}`}
            >
              Continue with {p.name}
            </a>
          ))}
        </div>
      )}
      {methods.providers.length > 0 && methods.local_login && (
        <div className="login-divider" aria-hidden="true">
          <span>or</span>
        </div>
      )}
      {methods.local_login && (
        <LocalLoginForm onLoggedIn={onLoggedIn} autoFocus={methods.providers.length === 0} />
      )}
    </>
  );
}

/**
 * Embedded-mode sign in: no password, the email must belong to a seeded or invited member (the embedded
 * plane runs on the user's own machine).
 */
function LocalLoginForm({ onLoggedIn, autoFocus }: { onLoggedIn: () => void; autoFocus: boolean }) {
  const api = useApi();
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.localLogin(email.trim());
      onLoggedIn();
    } catch (e) {
      setError(localLoginErrorMessage(e));
      setBusy(false);
    }
  };

  return (
    <form className="login-form" onSubmit={submit}>
      <p className="muted">
        Local sign-in for an embedded Slate. Use the email of a team member or an invited address — a fresh
        install seeds <code>owner@example.com</code>.
      </p>
      <label className="field">
        <span className="field-label">Email</span>
        <input
          type="email"
          name="email"
          autoComplete="email"
          required
          // biome-ignore lint/a11y/noAutofocus: the only field on the page when there are no providers
          autoFocus={autoFocus}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="you@example.com"
        />
      </label>
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      <button
        type="submit"
        className="button button-primary button-block"
        disabled={busy || email.trim() === ''}
      >
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

/**
 * The server's sign-in methods. A server older than `/v1/auth/providers` (404) only had the email form.
 */
async function signInMethods(request: Promise<AuthProviders>): Promise<AuthProviders> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiError && error.notFound) return { providers: [], local_login: true };
    throw error;
  }
}

/** Words for the codes the OIDC callback redirects with (see the metadata plane's `auth-routes.ts`). */
export function oidcErrorMessage(code: string): string {
  switch (code) {
    case 'UNKNOWN_USER':
      return 'Your account is not a member of any Slate team and has no pending invite. Ask a team admin to invite your email address.';
    case 'OIDC_EMAIL_UNVERIFIED':
      return 'The identity provider did not confirm a verified email address for your account.';
    case 'OIDC_LOGIN_FAILED':
      return 'Sign-in did not complete: it was cancelled, took too long, or was started in another browser. Try again.';
    case 'OIDC_DISCOVERY_FAILED':
      return 'The identity provider cannot be reached right now. Try again in a moment, or tell your operator.';
    case 'OIDC_PROVIDER_NOT_FOUND':
      return 'That sign-in method is not configured on this server.';
    default:
      return `Sign-in failed (${code}). Try again.`;
  }
}

function localLoginErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 404)
      return 'Local sign-in is not enabled on this server (it exists in embedded mode only).';
    if (error.status === 401 || error.status === 403) {
      return `${error.message}. Only team members and invited emails can sign in.`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
