import type { Deployment, GraphArtifact } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { shortId, shortSha } from '../format.ts';
import { useResource } from '../hooks/use-resource.ts';
import { versionsOf } from './entry-versions.ts';

/** Deployments compared to find versions: each is one request for its graph, so the history shown is bounded. */
export const VERSION_HISTORY_DEPTH = 10;

/** The recent deployments in which the definition was added, changed or removed. */
export function EntryVersions({
  environmentId,
  kind,
  fqn,
}: {
  environmentId: string;
  kind: 'feature' | 'resolver';
  fqn: string;
}) {
  const api = useApi();
  const [versions, reload] = useResource(
    async (signal) => {
      const page = await api.deployments(environmentId, { limit: VERSION_HISTORY_DEPTH }, signal);
      const details = await Promise.all(page.items.map((d) => api.deployment(d.id, signal)));
      const history = details
        .filter((d): d is typeof d & { graph: GraphArtifact } => d.graph !== undefined)
        .map((d) => ({ deployment: d as Deployment, graph: d.graph }));
      return {
        versions: versionsOf(history, kind, fqn),
        compared: history.length,
        more: page.next_cursor !== null,
      };
    },
    [api, environmentId, kind, fqn],
  );
  return (
    <section className="card" aria-label="Versions">
      <div className="card-header">
        <h3 className="card-title">Versions</h3>
        {versions.status === 'ready' && (
          <span className="muted small">
            changes across the last {versions.data.compared} deployment
            {versions.data.compared === 1 ? '' : 's'}
          </span>
        )}
      </div>
      {versions.status === 'loading' && <Loading rows={2} />}
      {versions.status === 'error' && <ErrorState error={versions.error} onRetry={reload} />}
      {versions.status === 'ready' && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Deployment</th>
                <th>Change</th>
                <th className="hide-sm">Commit</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.versions.map(({ deployment, change }) => (
                <tr key={deployment.id}>
                  <td>
                    <code title={deployment.id}>{shortId(deployment.id)}</code>{' '}
                    <StatusBadge status={deployment.status} />
                  </td>
                  <td>{change}</td>
                  <td className="hide-sm">
                    {deployment.git?.commit ? <code>{shortSha(deployment.git.commit)}</code> : '—'}
                  </td>
                  <td className="nowrap">
                    <RelativeTime iso={deployment.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
