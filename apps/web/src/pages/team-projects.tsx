import type { Team } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { CreateByName, RenameInline } from '../components/inline-forms.tsx';
import type { TeamPermissions } from '../hooks/use-team-permissions.ts';
import { Link } from '../router.tsx';
import type { TeamCatalog } from './teams-page.tsx';

/** A team's projects, each with its environments; create and rename both (ids never change). */
export function TeamProjects({
  team,
  catalog,
  perms,
  onChanged,
}: {
  team: Team;
  catalog: TeamCatalog;
  perms: TeamPermissions;
  onChanged: () => void;
}) {
  const api = useApi();
  const projects = catalog.projects.filter((p) => p.team_id === team.id);
  const canProject = perms.can('project.create');
  const canEnvironment = perms.can('environment.create');
  return (
    <div className="stack-lg">
      {canProject && (
        <div>
          <CreateByName
            label="New project"
            placeholder="Project name"
            onCreate={async (name) => {
              await api.admin.createProject({ name, team_id: team.id });
              onChanged();
            }}
          />
        </div>
      )}
      {projects.length === 0 && <p className="muted">This team has no project yet.</p>}
      {projects.map((project) => {
        const envs = catalog.environments.filter((e) => e.project_id === project.id);
        return (
          <section key={project.id} className="card" aria-label={`Project ${project.name}`}>
            <div className="card-header">
              <RenameInline
                name={project.name}
                label="project"
                disabled={!canProject}
                onRename={async (name) => {
                  await api.admin.renameProject(project.id, name);
                  onChanged();
                }}
              >
                <h3 className="card-title">{project.name}</h3>
                <code className="muted small">{project.id}</code>
              </RenameInline>
              {canEnvironment && (
                <CreateByName
                  label="New environment"
                  placeholder="Environment name"
                  onCreate={async (name) => {
                    await api.admin.createEnvironment({ name, project_id: project.id });
                    onChanged();
                  }}
                />
              )}
            </div>
            {envs.length === 0 ? (
              <p className="card-empty muted">No environments.</p>
            ) : (
              <ul className="project-envs" aria-label={`Environments of ${project.name}`}>
                {envs.map((env) => (
                  <li key={env.id}>
                    <RenameInline
                      name={env.name}
                      label="environment"
                      disabled={!canEnvironment}
                      onRename={async (name) => {
                        await api.admin.renameEnvironment(env.id, name);
                        onChanged();
                      }}
                    >
                      <Link
                        to={{ kind: 'environment', id: env.id, tab: 'deployments' }}
                        className="strong-link"
                      >
                        {env.name}
                      </Link>
                      <code className="muted small">{env.id}</code>
                    </RenameInline>
                    <span className="inline-gap small">
                      <Link to={{ kind: 'secrets', environmentId: env.id }}>Secrets</Link>
                      <Link to={{ kind: 'tokens', environmentId: env.id }}>Tokens</Link>
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}
