import {
  type DataPlane,
  type Deployment,
  type Environment,
  isNotFound,
  listAll,
  type Project,
  type Team,
} from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { DeploymentStrip } from '../components/deployment-strip.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { Pill, StatusBadge } from '../components/status-badge.tsx';
import { plural, shortId, shortSha } from '../format.ts';
import { useResource } from '../hooks/use-resource.ts';
import { Link } from '../router.tsx';

interface Catalog {
  readonly teams: Team[];
  readonly projects: Project[];
  readonly environments: Environment[];
  /** `null` when this server has no data-plane endpoint yet. */
  readonly dataPlanes: DataPlane[] | null;
}

/** Team → project → environment, each environment with what it serves now and how its last deploys went. */
export function EnvironmentsPage() {
  const api = useApi();
  const [catalog, reload] = useResource<Catalog>(
    async (signal) => {
      const [teams, projects, environments, dataPlanes] = await Promise.all([
        listAll((p) => api.teams(p, signal)),
        listAll((p) => api.projects(p, signal)),
        listAll((p) => api.environments(p, signal)),
        listAll((p) => api.dataPlanes(p, signal)).catch((e: unknown) => {
          if (isNotFound(e)) return null;
          throw e;
        }),
      ]);
      return { teams, projects, environments, dataPlanes };
    },
    [api],
  );

  return (
    <>
      <PageHeader
        title="Environments"
        subtitle="What each environment serves, and how its recent deployments went."
      />
      {catalog.status === 'loading' && <Loading rows={5} />}
      {catalog.status === 'error' && <ErrorState error={catalog.error} onRetry={reload} />}
      {catalog.status === 'ready' && <CatalogView catalog={catalog.data} />}
    </>
  );
}

function CatalogView({ catalog }: { catalog: Catalog }) {
  const { teams, projects, environments, dataPlanes } = catalog;
  if (environments.length === 0) {
    return (
      <EmptyState title="No environments yet">
        Environments appear here once a project has one. Create one with the <code>slate</code> CLI, then
        deploy with <code>slate apply</code>.
      </EmptyState>
    );
  }
  const planes = new Map((dataPlanes ?? []).map((p) => [p.id, p]));
  // Environments whose team or project is not in the lists (a race, or a token scoped to one environment)
  // still show, under a placeholder, rather than disappear.
  const teamIds = unique([...teams.map((t) => t.id), ...environments.map((e) => e.team_id ?? '')]);
  return (
    <div className="stack-lg">
      {teamIds.map((teamId) => {
        const team = teams.find((t) => t.id === teamId);
        const teamEnvs = environments.filter((e) => (e.team_id ?? '') === teamId);
        const projectIds = unique([
          ...projects.filter((p) => p.team_id === teamId).map((p) => p.id),
          ...teamEnvs.map((e) => e.project_id),
        ]);
        return (
          <section key={teamId} className="stack" aria-label={team?.name ?? teamId}>
            {teamIds.length > 1 || team ? <h2 className="section-title">{team?.name ?? teamId}</h2> : null}
            {projectIds.map((projectId) => {
              const project = projects.find((p) => p.id === projectId);
              const envs = teamEnvs.filter((e) => e.project_id === projectId);
              return (
                <div key={projectId} className="card">
                  <div className="card-header">
                    <h3 className="card-title">{project?.name ?? projectId}</h3>
                    <span className="muted">{plural(envs.length, 'environment')}</span>
                  </div>
                  {envs.length === 0 ? (
                    <p className="card-empty muted">No environments in this project.</p>
                  ) : (
                    <div className="table-wrap">
                      <table className="table">
                        <thead>
                          <tr>
                            <th>Environment</th>
                            <th>Active deployment</th>
                            <th className="hide-sm">Recent deploys</th>
                            <th className="hide-md">Data plane</th>
                          </tr>
                        </thead>
                        <tbody>
                          {envs.map((env) => (
                            <EnvironmentRow
                              key={env.id}
                              env={env}
                              plane={env.data_plane_id ? planes.get(env.data_plane_id) : undefined}
                              planesKnown={dataPlanes !== null}
                            />
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                </div>
              );
            })}
          </section>
        );
      })}
      <DataPlanesCard dataPlanes={dataPlanes} />
    </div>
  );
}

function EnvironmentRow({
  env,
  plane,
  planesKnown,
}: {
  env: Environment;
  plane: DataPlane | undefined;
  planesKnown: boolean;
}) {
  const api = useApi();
  const [recent] = useResource(
    async (signal) => {
      const page = await api.deployments(env.id, { limit: 20 }, signal);
      let active: Deployment | undefined = page.items.find((d) => d.id === env.active_deployment_id);
      if (!active && env.active_deployment_id)
        active = await api.deployment(env.active_deployment_id, signal);
      return { items: page.items, active };
    },
    [api, env.id, env.active_deployment_id],
  );

  return (
    <tr>
      <td>
        <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }} className="strong-link">
          {env.name}
        </Link>
        <div className="muted small mono">{shortId(env.id)}</div>
      </td>
      <td>
        {recent.status === 'loading' && <span className="skeleton skeleton-inline" />}
        {recent.status === 'error' && <span className="muted small">Couldn’t load deployments</span>}
        {recent.status === 'ready' && (
          <ActiveDeployment active={recent.data.active} latest={recent.data.items[0]} />
        )}
      </td>
      <td className="hide-sm">
        {recent.status === 'ready' &&
          (recent.data.items.length > 0 ? (
            <DeploymentStrip deployments={recent.data.items} />
          ) : (
            <span className="muted">—</span>
          ))}
      </td>
      <td className="hide-md">
        {!env.data_plane_id ? (
          <span className="muted">Unassigned</span>
        ) : plane ? (
          <span className="inline-gap">
            <Pill tone={plane.healthy ? 'success' : 'failed'}>{plane.healthy ? 'Healthy' : 'Unhealthy'}</Pill>
            <span className="small">{plane.name}</span>
          </span>
        ) : (
          <span className="muted small mono" title={planesKnown ? 'Not in the data-plane list' : undefined}>
            {shortId(env.data_plane_id)}
          </span>
        )}
      </td>
    </tr>
  );
}

function ActiveDeployment({
  active,
  latest,
}: {
  active: Deployment | undefined;
  latest: Deployment | undefined;
}) {
  if (!active) {
    return latest ? (
      <span className="inline-gap">
        <span className="muted">Nothing serving yet</span>
        <StatusBadge status={latest.status} />
      </span>
    ) : (
      <span className="muted">Never deployed</span>
    );
  }
  const git = active.git;
  return (
    <div className="stack-xs">
      <span className="inline-gap">
        <StatusBadge status={active.status} />
        {git?.branch && <span className="branch">{git.branch}</span>}
        {git?.commit && <code className="small">{shortSha(git.commit)}</code>}
      </span>
      <span className="muted small">
        {active.graph_summary ? `${plural(active.graph_summary.features, 'feature')} · ` : ''}
        activated <RelativeTime iso={active.activated_at ?? active.created_at} />
        {latest && latest.id !== active.id && (
          <>
            {' '}
            · newer deploy{' '}
            <span className={`text-${latest.status === 'SUCCESS' ? 'muted' : 'warn'}`}>
              {latest.status.toLowerCase()}
            </span>
          </>
        )}
      </span>
    </div>
  );
}

export function DataPlanesCard({ dataPlanes }: { dataPlanes: DataPlane[] | null }) {
  return (
    <section className="stack" aria-label="Data planes">
      <h2 className="section-title">Data planes</h2>
      <div className="card">
        {dataPlanes === null ? (
          <p className="card-empty muted">This server doesn’t report data planes yet.</p>
        ) : dataPlanes.length === 0 ? (
          <p className="card-empty muted">
            No data plane has registered. Start one and point it at this metadata plane.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Health</th>
                  <th>Last heartbeat</th>
                  <th className="hide-sm">URL · serving</th>
                </tr>
              </thead>
              <tbody>
                {dataPlanes.flatMap((p) => [
                  <tr key={p.id}>
                    <td>
                      {p.name}
                      <div className="muted small mono">{shortId(p.id)}</div>
                    </td>
                    <td>
                      <Pill tone={p.healthy ? 'success' : 'failed'}>
                        {p.healthy ? 'Healthy' : 'Unhealthy'}
                      </Pill>
                    </td>
                    <td>
                      <RelativeTime iso={p.last_heartbeat_at} />
                    </td>
                    <td className="hide-sm mono small">{p.url ?? '—'}</td>
                  </tr>,
                  ...(p.instances ?? []).map((i) => (
                    <tr key={`${p.id}/${i.instance_id}`} aria-label={`Instance ${i.instance_id}`}>
                      <td>
                        <span className="muted small">↳ </span>
                        <span className="mono small">{i.instance_id}</span>
                        <div className="muted small">
                          {i.roles.join(', ')}
                          {i.version ? ` · v${i.version}` : ''}
                        </div>
                      </td>
                      <td>
                        <Pill tone={i.healthy ? 'success' : 'failed'}>
                          {i.healthy ? 'Healthy' : 'Unhealthy'}
                        </Pill>
                      </td>
                      <td>
                        <RelativeTime iso={i.last_heartbeat_at} />
                      </td>
                      <td className="hide-sm mono small">{servingText(i.deployments)}</td>
                    </tr>
                  )),
                ])}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}

/** What an instance serves, as `env → deployment` pairs (short ids), or that it serves nothing yet. */
function servingText(deployments: Readonly<Record<string, string | null>>): string {
  const entries = Object.entries(deployments);
  if (entries.length === 0) return 'no status reported yet';
  return entries.map(([env, dep]) => `${shortId(env)} → ${dep ? shortId(dep) : 'nothing loaded'}`).join(', ');
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
