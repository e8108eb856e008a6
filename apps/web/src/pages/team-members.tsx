import type { Invite, Member, Role } from '@slate/client';
import { type FormEvent, useState } from 'react';
import type { Team } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { messageOf, useAction } from '../components/inline-forms.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { DataTable } from '../components/resource-table.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { Pill } from '../components/status-badge.tsx';
import { useResource } from '../hooks/use-resource.ts';
import type { TeamPermissions } from '../hooks/use-team-permissions.ts';
import { useMe } from '../me-context.tsx';
import { roleName, type TeamCatalog } from './teams-page.tsx';

/**
 * A team's members (change role, remove) and invites (invite by email with a role, withdraw). An invite
 * is accepted at the invitee's first sign-in; the list then shows it accepted and the member appears.
 */
export function TeamMembers({
  team,
  catalog,
  perms,
}: {
  team: Team;
  catalog: TeamCatalog;
  perms: TeamPermissions;
}) {
  const api = useApi();
  const [data, reload] = useResource(
    async (signal) => {
      const [members, invites] = await Promise.all([
        api.admin.members(team.id, signal),
        api.admin.invites(team.id, signal),
      ]);
      return { members: members.items, invites: invites.items };
    },
    [api, team.id],
  );
  const roles = perms.roles.status === 'ready' ? perms.roles.data : [];
  const envName = (id: string) => catalog.environments.find((e) => e.id === id)?.name ?? id;

  if (data.status === 'loading') return <Loading rows={4} />;
  if (data.status === 'error') return <ErrorState error={data.error} onRetry={reload} />;
  const pending = data.data.invites.filter((i) => i.accepted_at === null);
  return (
    <div className="stack-lg">
      {perms.can('team.add') && <InviteForm teamId={team.id} roles={roles} onInvited={reload} />}
      <section className="card" aria-label="Members">
        <div className="card-header">
          <h3 className="card-title">Members</h3>
          <span className="muted small">{data.data.members.length}</span>
        </div>
        <MembersTable
          teamId={team.id}
          members={data.data.members}
          roles={roles}
          canAdmin={perms.can('team.admin')}
          envName={envName}
          onChanged={reload}
        />
      </section>
      <section className="card" aria-label="Invites">
        <div className="card-header">
          <h3 className="card-title">Invites</h3>
          <span className="muted small">{pending.length} pending</span>
        </div>
        <InvitesTable
          invites={data.data.invites}
          roles={roles}
          canWithdraw={perms.can('team.add')}
          onChanged={reload}
        />
      </section>
    </div>
  );
}

function RoleSelect({
  value,
  roles,
  onChange,
  label,
  disabled,
}: {
  value: string;
  roles: readonly Role[];
  onChange: (role: string) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled}>
      {!roles.some((r) => r.id === value) && <option value={value}>{value}</option>}
      {roles.map((r) => (
        <option key={r.id} value={r.id}>
          {r.name}
          {r.built_in ? '' : ' (custom)'}
        </option>
      ))}
    </select>
  );
}

function InviteForm({
  teamId,
  roles,
  onInvited,
}: {
  teamId: string;
  roles: readonly Role[];
  onInvited: () => void;
}) {
  const api = useApi();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('developer');
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const to = email.trim();
    const ok = await action.run(async () => {
      await api.admin.invite(teamId, { email: to, role });
    });
    if (ok) {
      setSent(to);
      setEmail('');
      onInvited();
    }
  };
  return (
    <form className="card card-pad stack" onSubmit={submit} aria-label="Invite a member">
      <h3 className="card-title">Invite a member</h3>
      <div className="inline-form">
        <input
          type="email"
          aria-label="Email"
          placeholder="name@company.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
        />
        <RoleSelect value={role} roles={roles} onChange={setRole} label="Role" />
        <button type="submit" className="button button-primary" disabled={action.busy || email.trim() === ''}>
          {action.busy ? 'Inviting…' : 'Invite'}
        </button>
      </div>
      {action.error && (
        <div className="form-error" role="alert">
          {action.error}
        </div>
      )}
      {sent && !action.error && (
        <p className="muted small" role="status">
          Invited {sent}. They join the team when they first sign in with that email.
        </p>
      )}
    </form>
  );
}

function MembersTable({
  teamId,
  members,
  roles,
  canAdmin,
  envName,
  onChanged,
}: {
  teamId: string;
  members: readonly Member[];
  roles: readonly Role[];
  canAdmin: boolean;
  envName: (id: string) => string;
  onChanged: () => void;
}) {
  const api = useApi();
  const me = useMe();
  const [removing, setRemoving] = useState<Member | null>(null);
  const [error, setError] = useState<string | null>(null);
  const remove = useAction();
  const changeRole = async (m: Member, role: string) => {
    setError(null);
    try {
      await api.admin.setMemberRole(teamId, m.user_id, role);
      onChanged();
    } catch (e) {
      setError(`${m.email}: ${messageOf(e)}`);
    }
  };
  return (
    <>
      {error && (
        <div className="form-error card-pad" role="alert">
          {error}
        </div>
      )}
      <DataTable
        rows={members}
        rowKey={(m) => m.user_id}
        empty="No members."
        columns={[
          {
            header: 'Member',
            cell: (m) => (
              <>
                <span className="strong">{m.name || m.email}</span>
                {m.user_id === me.user.id && <span className="muted small"> (you)</span>}
                <div className="muted small">{m.email}</div>
              </>
            ),
          },
          {
            header: 'Team role',
            cell: (m) =>
              canAdmin && m.user_id !== me.user.id ? (
                <RoleSelect
                  value={m.role}
                  roles={roles}
                  label={`Role of ${m.email}`}
                  onChange={(role) => void changeRole(m, role)}
                />
              ) : (
                <Pill>{roleName(m.role, roles)}</Pill>
              ),
          },
          {
            header: 'Environment roles',
            className: 'hide-sm small',
            cell: (m) =>
              m.environment_roles.length === 0 ? (
                <span className="muted">—</span>
              ) : (
                m.environment_roles.map((r) => (
                  <div key={r.environment_id}>
                    {envName(r.environment_id)}: {roleName(r.role, roles)}
                  </div>
                ))
              ),
          },
        ]}
        actions={
          canAdmin
            ? [
                {
                  label: 'Remove',
                  tone: 'danger',
                  onClick: setRemoving,
                  hidden: (m) => m.user_id === me.user.id,
                },
              ]
            : []
        }
      />
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.email}?`}
          confirmLabel="Remove member"
          tone="danger"
          busy={remove.busy}
          error={remove.error}
          onConfirm={async () => {
            if (
              await remove.run(() => api.admin.removeMember(teamId, removing.user_id).then(() => undefined))
            ) {
              setRemoving(null);
              onChanged();
            }
          }}
          onCancel={() => {
            setRemoving(null);
            remove.clear();
          }}
        >
          <p>
            They lose access to every project and environment of this team, and their environment roles in it.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function InvitesTable({
  invites,
  roles,
  canWithdraw,
  onChanged,
}: {
  invites: readonly Invite[];
  roles: readonly Role[];
  canWithdraw: boolean;
  onChanged: () => void;
}) {
  const api = useApi();
  const withdraw = useAction();
  return (
    <>
      {withdraw.error && (
        <div className="form-error card-pad" role="alert">
          {withdraw.error}
        </div>
      )}
      <DataTable
        rows={invites}
        rowKey={(i) => i.id}
        empty="No invites."
        rowClassName={(i) => (i.accepted_at ? 'row-muted' : undefined)}
        columns={[
          { header: 'Email', className: 'strong', cell: (i) => i.email },
          { header: 'Role', cell: (i) => roleName(i.role, roles) },
          {
            header: 'Status',
            cell: (i) =>
              i.accepted_at ? <Pill tone="success">Accepted</Pill> : <Pill tone="progress">Pending</Pill>,
          },
          {
            header: 'Invited',
            className: 'hide-sm small nowrap',
            cell: (i) => <RelativeTime iso={i.created_at} />,
          },
        ]}
        actions={
          canWithdraw
            ? [
                {
                  label: 'Withdraw',
                  tone: 'danger',
                  ariaLabel: (i) => `Withdraw the invite of ${i.email}`,
                  hidden: (i) => i.accepted_at !== null,
                  disabled: () => withdraw.busy,
                  onClick: async (i) => {
                    if (await withdraw.run(() => api.admin.withdrawInvite(i.id).then(() => undefined)))
                      onChanged();
                  },
                },
              ]
            : []
        }
      />
    </>
  );
}
