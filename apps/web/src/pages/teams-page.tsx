import { useEffect } from 'react';
import { type Environment, listAll, type Project, type Team } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { CreateByName, RenameInline } from '../components/inline-forms.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { useTeamPermissions } from '../hooks/use-team-permissions.ts';
import { hrefOf, Link, navigate, type TeamTab } from '../router.tsx';
import { TeamMembers } from './team-members.tsx';
import { TeamProjects } from './team-projects.tsx';
import { TeamRoles } from './team-roles.tsx';

/** The catalog of everything the user can see, reloaded after each change on this page. */
export interface TeamCatalog {
  readonly teams: readonly Team[];
  readonly projects: readonly Project[];
  readonly environments: readonly Environment[];
}

const TABS: readonly { tab: TeamTab; label: string }[] = [
  { tab: 'projects', label: 'Projects' },
  { tab: 'members', label: 'Members' },
  { tab: 'roles', label: 'Roles' },
];

/**
 * Administration of one team: its projects and environments (create, rename), members and invites,
 * and roles (built-in and custom). What the user's role cannot do is hidden or disabled; the metadata
 * plane refuses it anyway.
 */
export function TeamsPage({ teamId, tab }: { teamId: string | null; tab: TeamTab }) {
  const api = useApi();
  const [catalog, reload] = useResource<TeamCatalog>(
    async (signal) => {
      const [teams, projects, environments] = await Promise.all([
        listAll((p) => api.teams(p, signal)),
        listAll((p) => api.projects(p, signal)),
        listAll((p) => api.environments(p, signal)),
      ]);
      return { teams, projects, environments };
    },
    [api],
  );
  const first = catalog.status === 'ready' ? catalog.data.teams[0] : undefined;
  useEffect(() => {
    if (!teamId && first)
      navigate(hrefOf({ kind: 'teams', teamId: first.id, tab: 'projects' }), { replace: true });
  }, [teamId, first]);

  if (catalog.status === 'loading') return <Loading rows={5} />;
  if (catalog.status === 'error') return <ErrorState error={catalog.error} onRetry={reload} />;
  if (catalog.data.teams.length === 0)
    return <EmptyState title="No teams">You are not a member of any team.</EmptyState>;
  const team = catalog.data.teams.find((t) => t.id === teamId);
  if (!teamId) return <Loading rows={5} />;
  if (!team)
    return (
      <EmptyState title="Team not found">
        No team <code>{teamId}</code> among yours. <Link to="/teams">Go to your teams</Link>.
      </EmptyState>
    );
  return <TeamView key={team.id} team={team} tab={tab} catalog={catalog.data} onChanged={reload} />;
}

function TeamView({
  team,
  tab,
  catalog,
  onChanged,
}: {
  team: Team;
  tab: TeamTab;
  catalog: TeamCatalog;
  onChanged: () => void;
}) {
  const api = useApi();
  const perms = useTeamPermissions(team.id);
  const isAdmin = perms.can('team.admin');
  return (
    <>
      <PageHeader
        crumbs={<Link to="/teams">Teams</Link>}
        title={
          <RenameInline
            name={team.name}
            label="team"
            disabled={!isAdmin}
            onRename={async (name) => {
              await api.admin.renameTeam(team.id, name);
              onChanged();
            }}
          />
        }
        subtitle={
          <>
            <code>{team.id}</code>
            {perms.role && <> · your role: {roleName(perms.role, perms.roles.data)}</>}
          </>
        }
        actions={
          <div className="inline-gap">
            {catalog.teams.length > 1 && <TeamPicker teams={catalog.teams} value={team.id} tab={tab} />}
            {isAdmin && (
              <CreateByName
                label="New team"
                onCreate={async (name) => {
                  const created = await api.admin.createTeam({ name });
                  onChanged();
                  // The new team's roles are on the server; /v1/me learns of the membership on reload.
                  window.location.assign(hrefOf({ kind: 'teams', teamId: created.id, tab: 'projects' }));
                }}
              />
            )}
          </div>
        }
      />
      <nav className="tabs" aria-label="Team sections">
        {TABS.map((t) => (
          <Link
            key={t.tab}
            to={{ kind: 'teams', teamId: team.id, tab: t.tab }}
            className="tab"
            aria-current={tab === t.tab ? 'page' : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === 'projects' && (
        <TeamProjects team={team} catalog={catalog} perms={perms} onChanged={onChanged} />
      )}
      {tab === 'members' && <TeamMembers team={team} catalog={catalog} perms={perms} />}
      {tab === 'roles' && <TeamRoles team={team} perms={perms} />}
    </>
  );
}

/** A role's display name: built-in roles are named by their id, custom ones are looked up. */
export function roleName(role: string, roles: readonly { id: string; name: string }[] | undefined): string {
  return roles?.find((r) => r.id === role)?.name ?? role;
}

function TeamPicker({ teams, value, tab }: { teams: readonly Team[]; value: string; tab: TeamTab }) {
  return (
    <label className="picker">
      <span className="field-label">Team</span>
      <select
        value={value}
        onChange={(e) => navigate(hrefOf({ kind: 'teams', teamId: e.target.value, tab }))}
      >
        {teams.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}
