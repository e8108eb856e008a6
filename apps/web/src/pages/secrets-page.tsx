import type { Secret } from '@slate/client';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type Environment, listAll } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EnvironmentPicker } from '../components/environment-picker.tsx';
import { useAction } from '../components/inline-forms.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { listState, TableCard } from '../components/resource-table.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { useTeamPermissions } from '../hooks/use-team-permissions.ts';
import { hrefOf, Link, navigate } from '../router.tsx';

/**
 * An environment's secrets, write-only: set (a value goes in and is never shown back, not even to the
 * person who typed it), list names, delete. The metadata plane seals values to the data plane and never
 * returns them.
 */
export function SecretsPage({ environmentId }: { environmentId: string | null }) {
  const api = useApi();
  const [envs, reload] = useResource(
    async (signal) => {
      const [environments, projects] = await Promise.all([
        listAll((p) => api.environments(p, signal)),
        listAll((p) => api.projects(p, signal)),
      ]);
      return { environments, projects };
    },
    [api],
  );
  const first = envs.status === 'ready' ? envs.data.environments[0] : undefined;
  useEffect(() => {
    if (!environmentId && first)
      navigate(hrefOf({ kind: 'secrets', environmentId: first.id }), { replace: true });
  }, [environmentId, first]);
  const env =
    envs.status === 'ready' ? envs.data.environments.find((e) => e.id === environmentId) : undefined;
  return (
    <>
      <PageHeader
        title="Secrets"
        crumbs={
          env ? (
            <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }}>{env.name}</Link>
          ) : undefined
        }
        subtitle="Values resolvers read at run time (API keys, database passwords). Write-only: once set, a value is never shown again."
        actions={
          envs.status === 'ready' && envs.data.environments.length > 0 ? (
            <EnvironmentPicker
              environments={envs.data.environments}
              projects={envs.data.projects}
              value={environmentId}
              hrefOf={(id) => hrefOf({ kind: 'secrets', environmentId: id })}
            />
          ) : undefined
        }
      />
      {envs.status === 'loading' && <Loading />}
      {envs.status === 'error' && <ErrorState error={envs.error} onRetry={reload} />}
      {envs.status === 'ready' && envs.data.environments.length === 0 && (
        <EmptyState title="No environments">Secrets belong to an environment; there is none yet.</EmptyState>
      )}
      {environmentId && envs.status === 'ready' && !env && envs.data.environments.length > 0 && (
        <EmptyState title="Environment not found">
          No environment <code>{environmentId}</code>.
        </EmptyState>
      )}
      {env && <Secrets key={env.id} env={env} />}
    </>
  );
}

function Secrets({ env }: { env: Environment }) {
  const api = useApi();
  const perms = useTeamPermissions(env.team_id ?? undefined);
  const [list, reload] = useResource((signal) => api.admin.secrets(env.id, signal), [api, env.id]);
  const [deleting, setDeleting] = useState<Secret | null>(null);
  const [replacing, setReplacing] = useState<string | null>(null);
  const del = useAction();
  const canWrite = perms.can('secrets.write');
  return (
    <div className="stack-lg">
      {canWrite ? (
        <SetSecretForm
          key={replacing ?? ''}
          environmentId={env.id}
          initialName={replacing ?? ''}
          onSet={reload}
        />
      ) : (
        perms.roles.status === 'ready' && (
          <p className="notice">
            Your role cannot set or delete secrets here (<code>secrets.write</code>); you can see their names.
          </p>
        )
      )}
      <TableCard
        label="Secrets"
        title={`Secrets in ${env.name}`}
        state={listState(list, reload, (data) => data.items)}
        rowKey={(s) => s.name}
        empty="No secrets in this environment."
        columns={[
          { header: 'Name', cell: (s) => <code className="strong">{s.name}</code> },
          {
            header: 'Value',
            cell: () => <span title="Secret values are write-only">••••••••</span>,
            className: 'muted',
          },
          { header: 'Updated by', cell: (s) => s.updated_by, className: 'hide-sm small mono' },
          { header: 'Updated', cell: (s) => <RelativeTime iso={s.updated_at} />, className: 'small nowrap' },
        ]}
        actions={
          canWrite
            ? [
                { label: 'Replace', onClick: (s) => setReplacing(s.name) },
                {
                  label: 'Delete',
                  tone: 'danger',
                  ariaLabel: (s) => `Delete ${s.name}`,
                  onClick: (s) => setDeleting(s),
                },
              ]
            : []
        }
      />
      {deleting && (
        <ConfirmDialog
          title={`Delete the secret ${deleting.name}?`}
          confirmLabel="Delete secret"
          tone="danger"
          busy={del.busy}
          error={del.error}
          onConfirm={async () => {
            if (await del.run(() => api.admin.deleteSecret(env.id, deleting.name).then(() => undefined))) {
              setDeleting(null);
              reload();
            }
          }}
          onCancel={() => {
            setDeleting(null);
            del.clear();
          }}
        >
          <p>Resolvers that read it fail from the data plane's next update. The value cannot be recovered.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/**
 * Name and value in; on success both fields are emptied, so the value lives in the page only while it is
 * typed. The value field is a password input that browsers neither autofill nor offer to save.
 */
function SetSecretForm({
  environmentId,
  initialName,
  onSet,
}: {
  environmentId: string;
  initialName: string;
  onSet: () => void;
}) {
  const api = useApi();
  const [name, setName] = useState(initialName);
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const valueRef = useRef<HTMLInputElement>(null);
  const action = useAction();
  useEffect(() => {
    if (initialName) valueRef.current?.focus();
  }, [initialName]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const secretName = name.trim();
    const ok = await action.run(async () => {
      await api.admin.setSecret(environmentId, secretName, value);
    });
    // Success or not, the value leaves the page: a retry means typing it again.
    setValue('');
    if (ok) {
      setName('');
      setSaved(secretName);
      onSet();
    }
  };
  return (
    <form className="card card-pad stack" onSubmit={submit} aria-label="Set a secret" autoComplete="off">
      <h3 className="card-title">Set a secret</h3>
      <div className="inline-form">
        <input
          aria-label="Secret name"
          placeholder="STRIPE_API_KEY"
          value={name}
          onChange={(e) => setName(e.target.value)}
          pattern="[A-Za-z_][A-Za-z0-9_.\-]{0,127}"
          title="Letters, digits, _ . - ; starting with a letter or _"
          required
          spellCheck={false}
        />
        <input
          ref={valueRef}
          type="password"
          aria-label="Secret value"
          placeholder="value"
          autoComplete="new-password"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
          spellCheck={false}
        />
        <button
          type="submit"
          className="button button-primary"
          disabled={action.busy || !name.trim() || value === ''}
        >
          {action.busy ? 'Saving…' : 'Set secret'}
        </button>
      </div>
      {action.error && (
        <div className="form-error" role="alert">
          {action.error}
        </div>
      )}
      {saved && !action.error && (
        <p className="muted small" role="status">
          Saved {saved}. Its value is sealed to the data plane and will not be shown again.
        </p>
      )}
    </form>
  );
}
