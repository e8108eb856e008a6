import { type FormEvent, useState } from 'react';
import { ApiError } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { BrandMark } from '../components/app-shell.tsx';

/**
 * Embedded-mode sign in: no password, the email must belong to a seeded or invited member. Production
 * deployments will sign in through OIDC instead.
 */
export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }) {
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
      setError(loginErrorMessage(e));
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="login-brand">
          <BrandMark />
          <span>Slate</span>
        </div>
        <h1 id="login-title">Sign in</h1>
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
            // biome-ignore lint/a11y/noAutofocus: the only field on the page
            autoFocus
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
    </div>
  );
}

function loginErrorMessage(error: unknown): string {
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
