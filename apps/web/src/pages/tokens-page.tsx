import { type FormEvent, useEffect, useState } from 'react';
import { type CreatedToken, listAll, type ServiceToken } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EnvironmentPicker } from '../components/environment-picker.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { DataTable, pagedListState, TableCard } from '../components/resource-table.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { Pill } from '../components/status-badge.tsx';
import { Tags } from '../components/tags.tsx';
import { TokenCreatedPanel } from '../components/token-created-panel.tsx';
import { usePagedList } from '../hooks/use-paged-list.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useTeamPermissions } from '../hooks/use-team-permissions.ts';
import { TOKEN_PERMISSION_GROUPS } from '../permissions.ts';
import { hrefOf, Link, navigate } from '../router.tsx';

/** Service tokens of one environment: list, create (secret shown once), revoke. */
export function TokensPage({ environmentId }: { environmentId: string | null }) {
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
      navigate(hrefOf({ kind: 'tokens', environmentId: first.id }), { replace: true });
  }, [environmentId, first]);

  const env =
    envs.status === 'ready' ? envs.data.environments.find((e) => e.id === environmentId) : undefined;
  return (
    <>
      <PageHeader
        title="Service tokens"
        crumbs={
          env ? (
            <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }}>{env.name}</Link>
          ) : undefined
        }
        subtitle="Credentials for CI and services, scoped to one environment. Exchange them at /v1/oauth/token."
        actions={
          envs.status === 'ready' && envs.data.environments.length > 0 ? (
            <EnvironmentPicker
              environments={envs.data.environments}
              projects={envs.data.projects}
              value={environmentId}
              hrefOf={(id) => hrefOf({ kind: 'tokens', environmentId: id })}
            />
          ) : undefined
        }
      />
      {envs.status === 'loading' && <Loading />}
      {envs.status === 'error' && <ErrorState error={envs.error} onRetry={reload} />}
      {envs.status === 'ready' && envs.data.environments.length === 0 && (
        <EmptyState title="No environments">Tokens belong to an environment; there is none yet.</EmptyState>
      )}
      {environmentId && envs.status === 'ready' && envs.data.environments.length > 0 && (
        <Tokens key={environmentId} environmentId={environmentId} teamId={env?.team_id ?? undefined} />
      )}
    </>
  );
}

function Tokens({ environmentId, teamId }: { environmentId: string; teamId: string | undefined }) {
  const api = useApi();
  const canWrite = useTeamPermissions(teamId).can('tokens.write');
  const tokens = usePagedList(
    (page, signal) => api.tokens(environmentId, { limit: 100, ...page }, signal),
    [api, environmentId],
  );
  const [created, setCreated] = useState<{ token: CreatedToken; name: string; rotated?: boolean } | null>(
    null,
  );
  const [revoking, setRevoking] = useState<ServiceToken | null>(null);
  const [rotating, setRotating] = useState<ServiceToken | null>(null);
  const [busy, setBusy] = useState(false);
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const revoke = async () => {
    if (!revoking) return;
    setBusy(true);
    setRevokeError(null);
    try {
      await api.revokeToken(revoking.id);
      setRevoking(null);
      tokens.reload();
    } catch (e) {
      setRevokeError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const rotate = async () => {
    if (!rotating) return;
    setBusy(true);
    setRevokeError(null);
    try {
      const token = await api.admin.rotateToken(rotating.id);
      setCreated({ token, name: rotating.name, rotated: true });
      setRotating(null);
      tokens.reload();
    } catch (e) {
      setRevokeError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="stack-lg">
      {created ? (
        <TokenCreatedPanel
          token={created.token}
          name={created.name}
          rotated={created.rotated}
          onDone={() => setCreated(null)}
        />
      ) : (
        canWrite && (
          <CreateTokenForm
            environmentId={environmentId}
            onCreated={(token, name) => {
              setCreated({ token, name });
              tokens.reload();
            }}
          />
        )
      )}
      <TableCard
        label="Tokens"
        title="Tokens"
        state={pagedListState(tokens)}
        {...tokenTable({
          onRevoke: canWrite ? setRevoking : undefined,
          onRotate: canWrite ? setRotating : undefined,
        })}
        footer={
          tokens.hasMore && (
            <button type="button" className="button" onClick={tokens.loadMore} disabled={tokens.loadingMore}>
              Load more
            </button>
          )
        }
      />
      {rotating && (
        <ConfirmDialog
          title={`Rotate “${rotating.name}”?`}
          confirmLabel="Rotate secret"
          busy={busy}
          error={revokeError}
          onConfirm={rotate}
          onCancel={() => {
            setRotating(null);
            setRevokeError(null);
          }}
        >
          <p>
            Client id <code>{rotating.client_id}</code> gets a new secret, shown once. The current secret, and
            access tokens issued with it, stop working immediately: update what uses it right after.
          </p>
        </ConfirmDialog>
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirmLabel="Revoke token"
          tone="danger"
          busy={busy}
          error={revokeError}
          onConfirm={revoke}
          onCancel={() => {
            setRevoking(null);
            setRevokeError(null);
          }}
        >
          <p>
            Anything using client id <code>{revoking.client_id}</code> stops working immediately. This cannot
            be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The token list's columns and actions (rotate and revoke only when given, never on a revoked token). */
function tokenTable({
  onRevoke,
  onRotate,
}: {
  onRevoke?: ((t: ServiceToken) => void) | undefined;
  onRotate?: ((t: ServiceToken) => void) | undefined;
}) {
  const revoked = (t: ServiceToken) => t.revoked_at !== null;
  return {
    rowKey: (t: ServiceToken) => t.id,
    empty: 'No service tokens in this environment yet.',
    rowClassName: (t: ServiceToken) => (t.revoked_at ? 'row-muted' : undefined),
    columns: [
      {
        header: 'Name',
        cell: (t: ServiceToken) => (
          <>
            <span className="strong">{t.name}</span>
            <div className="muted small mono">{t.client_id}</div>
          </>
        ),
      },
      {
        header: 'Permissions',
        className: 'cell-wide',
        cell: (t: ServiceToken) => <Tags tags={t.permissions} mono />,
      },
      {
        header: 'Created',
        className: 'hide-sm small nowrap',
        cell: (t: ServiceToken) => <RelativeTime iso={t.created_at} />,
      },
      {
        header: 'Last used',
        className: 'small nowrap',
        cell: (t: ServiceToken) =>
          t.last_used_at ? <RelativeTime iso={t.last_used_at} /> : <span className="muted">Never</span>,
      },
    ],
    trailing: (t: ServiceToken) =>
      t.revoked_at ? (
        <span title={`Revoked ${t.revoked_at}`}>
          <Pill>Revoked</Pill>
        </span>
      ) : null,
    actions: [
      ...(onRotate
        ? [
            {
              label: 'Rotate',
              ariaLabel: (t: ServiceToken) => `Rotate ${t.name}`,
              onClick: onRotate,
              hidden: revoked,
            },
          ]
        : []),
      ...(onRevoke ? [{ label: 'Revoke', tone: 'danger' as const, onClick: onRevoke, hidden: revoked }] : []),
    ],
  };
}

/** The token list; exported for tests. */
export function TokensTable({
  tokens,
  onRevoke,
  onRotate,
}: {
  tokens: readonly ServiceToken[];
  /** Absent (with `onRotate`): no buttons, the caller may not write tokens. */
  onRevoke?: (t: ServiceToken) => void;
  /** Absent: no rotate button. */
  onRotate?: (t: ServiceToken) => void;
}) {
  return <DataTable rows={tokens} {...tokenTable({ onRevoke, onRotate })} />;
}

function CreateTokenForm({
  environmentId,
  onCreated,
}: {
  environmentId: string;
  onCreated: (t: CreatedToken, name: string) => void;
}) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [permissions, setPermissions] = useState<ReadonlySet<string>>(new Set(['query.online']));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!open) {
    return (
      <div>
        <button type="button" className="button button-primary" onClick={() => setOpen(true)}>
          New token
        </button>
      </div>
    );
  }

  const toggle = (slug: string) => {
    const next = new Set(permissions);
    if (next.has(slug)) next.delete(slug);
    else next.add(slug);
    setPermissions(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const trimmed = name.trim();
      const token = await api.createToken(environmentId, {
        name: trimmed,
        permissions: [...permissions].sort(),
      });
      setOpen(false);
      setName('');
      onCreated(token, trimmed);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card card-pad stack" onSubmit={submit} aria-label="New token">
      <h3 className="card-title">New service token</h3>
      <label className="field">
        <span className="field-label">Name</span>
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="ci-deploy, fraud-service…"
          required
          maxLength={200}
          // biome-ignore lint/a11y/noAutofocus: the form was just opened by the user
          autoFocus
        />
      </label>
      <fieldset className="permission-groups">
        <legend className="field-label">Permissions</legend>
        {TOKEN_PERMISSION_GROUPS.map((group) => (
          <div key={group.label} className="permission-group">
            <div className="permission-group-label">{group.label}</div>
            {group.permissions.map((p) => (
              <label key={p.slug} className="check">
                <input type="checkbox" checked={permissions.has(p.slug)} onChange={() => toggle(p.slug)} />
                <span>
                  <code>{p.slug}</code>
                  <span className="muted small"> {p.hint}</span>
                </span>
              </label>
            ))}
          </div>
        ))}
      </fieldset>
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      <div className="inline-gap">
        <button
          type="submit"
          className="button button-primary"
          disabled={busy || name.trim() === '' || permissions.size === 0}
        >
          {busy ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" className="button button-ghost" onClick={() => setOpen(false)} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
