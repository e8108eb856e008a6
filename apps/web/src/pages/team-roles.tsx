import type { Role } from '@slate/client';
import { type FormEvent, useState } from 'react';
import type { Team } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { useAction } from '../components/inline-forms.tsx';
import { DataTable } from '../components/resource-table.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { Pill } from '../components/status-badge.tsx';
import { Tags } from '../components/tags.tsx';
import type { TeamPermissions } from '../hooks/use-team-permissions.ts';
import { allPermissions, permissionsOfRole } from '../permissions.ts';

/**
 * A team's roles: the four built-in ones (read-only) and its custom roles (create, edit, delete). A
 * custom role may only hold permissions the editor holds; the others are shown disabled.
 */
export function TeamRoles({ team, perms }: { team: Team; perms: TeamPermissions }) {
  const api = useApi();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const del = useAction();
  if (perms.roles.status === 'loading') return <Loading rows={4} />;
  if (perms.roles.status === 'error')
    return <ErrorState error={perms.roles.error} onRetry={perms.reloadRoles} />;
  const roles = perms.roles.data;
  const canAdmin = perms.can('team.admin');
  const choices = allPermissions(roles);
  const held = permissionsOfRole(perms.role, roles) ?? new Set<string>();
  return (
    <div className="stack-lg">
      {canAdmin &&
        (editing ? (
          <RoleForm
            key={editing === 'new' ? 'new' : editing.id}
            teamId={team.id}
            role={editing === 'new' ? null : editing}
            choices={choices}
            held={held}
            onDone={(changed) => {
              setEditing(null);
              if (changed) perms.reloadRoles();
            }}
          />
        ) : (
          <div>
            <button type="button" className="button button-primary" onClick={() => setEditing('new')}>
              New custom role
            </button>
          </div>
        ))}
      <section className="card" aria-label="Roles">
        <DataTable
          rows={roles}
          rowKey={(r) => r.id}
          empty="No roles."
          columns={[
            {
              header: 'Role',
              cell: (r) => (
                <>
                  <span className="strong">{r.name}</span>{' '}
                  {r.built_in ? <Pill>built-in</Pill> : <Pill tone="success">custom</Pill>}
                  {r.description && <div className="muted small">{r.description}</div>}
                </>
              ),
            },
            {
              header: 'Permissions',
              className: 'cell-wide',
              cell: (r) => <Tags tags={r.permissions} mono />,
            },
          ]}
          actions={
            canAdmin
              ? [
                  { label: 'Edit', onClick: setEditing, hidden: (r) => r.built_in },
                  { label: 'Delete', tone: 'danger', onClick: setDeleting, hidden: (r) => r.built_in },
                ]
              : []
          }
        />
      </section>
      {deleting && (
        <ConfirmDialog
          title={`Delete the role “${deleting.name}”?`}
          confirmLabel="Delete role"
          tone="danger"
          busy={del.busy}
          error={del.error}
          onConfirm={async () => {
            if (await del.run(() => api.admin.deleteRole(deleting.id).then(() => undefined))) {
              setDeleting(null);
              perms.reloadRoles();
            }
          }}
          onCancel={() => {
            setDeleting(null);
            del.clear();
          }}
        >
          <p>Only a role no one holds can be deleted: give its members another role first.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function RoleForm({
  teamId,
  role,
  choices,
  held,
  onDone,
}: {
  teamId: string;
  role: Role | null;
  choices: readonly string[];
  held: ReadonlySet<string>;
  onDone: (changed: boolean) => void;
}) {
  const api = useApi();
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set(role?.permissions ?? []));
  const action = useAction();
  const toggle = (p: string) => {
    const next = new Set(selected);
    if (next.has(p)) next.delete(p);
    else next.add(p);
    setSelected(next);
  };
  const groups = new Map<string, string[]>();
  for (const p of choices) {
    const group = p.split('.')[0] ?? p;
    groups.set(group, [...(groups.get(group) ?? []), p]);
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const input = { name: name.trim(), description: description.trim(), permissions: [...selected].sort() };
    const ok = await action.run(async () => {
      if (role) await api.admin.updateRole(role.id, input);
      else await api.admin.createRole(teamId, input);
    });
    if (ok) onDone(true);
  };
  return (
    <form
      className="card card-pad stack"
      onSubmit={submit}
      aria-label={role ? `Edit role ${role.name}` : 'New custom role'}
    >
      <h3 className="card-title">{role ? `Edit “${role.name}”` : 'New custom role'}</h3>
      <label className="field">
        <span className="field-label">Name</span>
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={100}
          placeholder="ML scientist"
        />
      </label>
      <label className="field">
        <span className="field-label">Description</span>
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} />
      </label>
      <fieldset className="permission-groups">
        <legend className="field-label">Permissions</legend>
        {[...groups].map(([group, permissions]) => (
          <div key={group} className="permission-group">
            <div className="permission-group-label">{group}</div>
            {permissions.map((p) => (
              <label
                key={p}
                className="check"
                title={held.has(p) ? undefined : 'You do not hold this permission'}
              >
                <input
                  type="checkbox"
                  checked={selected.has(p)}
                  disabled={!held.has(p) && !selected.has(p)}
                  onChange={() => toggle(p)}
                />
                <code>{p}</code>
              </label>
            ))}
          </div>
        ))}
      </fieldset>
      {action.error && (
        <div className="form-error" role="alert">
          {action.error}
        </div>
      )}
      <div className="inline-gap">
        <button
          type="submit"
          className="button button-primary"
          disabled={action.busy || !name.trim() || selected.size === 0}
        >
          {role ? 'Save role' : 'Create role'}
        </button>
        <button
          type="button"
          className="button button-ghost"
          onClick={() => onDone(false)}
          disabled={action.busy}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
