import { type FormEvent, useState } from 'react';
import { listAll } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { useAction } from '../components/inline-forms.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';

/**
 * Approving a `slate login` started in a terminal (the OAuth device grant): the signed-in user checks the
 * code the terminal shows (prefilled from the link the CLI opened), picks the environment, and approves or
 * denies. The terminal then receives credentials holding this user's permissions in that environment.
 */
export function DevicePage({ code }: { code: string | null }) {
  const api = useApi();
  const [userCode, setUserCode] = useState(code ?? '');
  const [checked, setChecked] = useState<{ code: string; clientName: string } | null>(null);
  const [environmentId, setEnvironmentId] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const lookup = useAction();
  const decide = useAction();
  const [envs, reload] = useResource((signal) => listAll((p) => api.environments(p, signal)), [api]);

  const check = async (event: FormEvent) => {
    event.preventDefault();
    await lookup.run(async () => {
      const pending = await api.deviceLogin(userCode.trim());
      setChecked({ code: userCode.trim(), clientName: pending.client_name });
    });
  };
  const answer = (approve: boolean) =>
    decide.run(async () => {
      if (!checked) return;
      const environment = environmentId || (envs.status === 'ready' ? (envs.data[0]?.id ?? '') : '');
      await api.decideDeviceLogin({ user_code: checked.code, environment_id: environment, approve });
      setDone(
        approve
          ? 'Approved. Go back to your terminal: slate is logged in.'
          : 'Denied. The terminal’s login was refused.',
      );
    });

  return (
    <>
      <PageHeader
        title="Log in a terminal"
        subtitle="Approve a `slate login` started on your computer. Only approve a code you see in your own terminal."
      />
      {done ? (
        <p className="notice" role="status">
          {done}
        </p>
      ) : !checked ? (
        <form className="card stack" onSubmit={check} aria-label="Device code">
          <label className="field">
            <span>Code shown by slate login</span>
            <input
              className="input mono"
              value={userCode}
              onChange={(e) => setUserCode(e.target.value)}
              placeholder="BCDF-GHJK"
              autoComplete="off"
              required
            />
          </label>
          {lookup.error && (
            <p className="error" role="alert">
              {lookup.error}
            </p>
          )}
          <div>
            <button type="submit" className="button button-primary" disabled={lookup.busy}>
              Continue
            </button>
          </div>
        </form>
      ) : (
        <section className="card stack" aria-label="Approve login">
          <p>
            <strong>{checked.clientName}</strong> asks to act as you with the code{' '}
            <code className="strong">{checked.code}</code>.
          </p>
          {envs.status === 'loading' && <Loading />}
          {envs.status === 'error' && <ErrorState error={envs.error} onRetry={reload} />}
          {envs.status === 'ready' && (
            <label className="field">
              <span>Environment</span>
              <select
                className="input"
                value={environmentId || (envs.data[0]?.id ?? '')}
                onChange={(e) => setEnvironmentId(e.target.value)}
              >
                {envs.data.map((env) => (
                  <option key={env.id} value={env.id}>
                    {env.name} ({env.id})
                  </option>
                ))}
              </select>
            </label>
          )}
          {decide.error && (
            <p className="error" role="alert">
              {decide.error}
            </p>
          )}
          <div className="inline-gap">
            <button
              type="button"
              className="button button-primary"
              disabled={decide.busy || envs.status !== 'ready' || envs.data.length === 0}
              onClick={() => answer(true)}
            >
              Approve
            </button>
            <button type="button" className="button" disabled={decide.busy} onClick={() => answer(false)}>
              Deny
            </button>
          </div>
        </section>
      )}
    </>
  );
}
