import type { Deployment } from '../api/index.ts';
import { plural, shortId, shortSha } from '../format.ts';
import { RelativeTime } from './relative-time.tsx';
import { Pill, StatusBadge } from './status-badge.tsx';

interface DeploymentsTableProps {
  readonly deployments: readonly Deployment[];
  /** The deployment the environment serves now. */
  readonly activeId: string | null;
  /** Omit to hide the roll-back buttons (no permission, say). */
  readonly onRollback?: (deployment: Deployment) => void;
}

/**
 * Deployment history, newest first. Only deployments that once succeeded and are not serving now can be
 * rolled back to: redeploying a failed build would fail again.
 */
export function DeploymentsTable({ deployments, activeId, onRollback }: DeploymentsTableProps) {
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th>Status</th>
            <th>Change</th>
            <th className="hide-sm">Graph</th>
            <th>Created</th>
            {onRollback && (
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {deployments.map((d) => {
            const isActive = d.id === activeId || (activeId === null && d.active === true);
            return (
              <tr key={d.id} className={isActive ? 'row-active' : undefined}>
                <td>
                  <div className="stack-xs">
                    <StatusBadge status={d.status} />
                    {isActive && <Pill tone="success">Serving</Pill>}
                    {!isActive && d.desired && <Pill tone="progress">Rolling out</Pill>}
                  </div>
                </td>
                <td className="cell-wide">
                  <div className="commit-line">
                    {d.git?.message ? (
                      <span className="commit-message">{d.git.message}</span>
                    ) : (
                      <span className="muted">No commit message</span>
                    )}
                  </div>
                  <div className="muted small inline-gap">
                    {d.git?.branch && <span className="branch">{d.git.branch}</span>}
                    {d.git?.commit && <code title={d.git.commit}>{shortSha(d.git.commit)}</code>}
                    {(d.git?.author ?? d.created_by) && <span>{d.git?.author ?? d.created_by}</span>}
                    <span className="mono" title={d.id}>
                      {shortId(d.id)}
                    </span>
                  </div>
                  {d.error && <div className="cell-error">{d.error}</div>}
                </td>
                <td className="hide-sm small nowrap">
                  {d.graph_summary ? (
                    <>
                      {plural(d.graph_summary.features, 'feature')}
                      <div className="muted">{plural(d.graph_summary.resolvers, 'resolver')}</div>
                    </>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="small nowrap">
                  <RelativeTime iso={d.created_at} />
                  {d.activated_at && (
                    <div className="muted">
                      live <RelativeTime iso={d.activated_at} />
                    </div>
                  )}
                </td>
                {onRollback && (
                  <td className="cell-action">
                    {!isActive && d.status === 'SUCCESS' && (
                      <button type="button" className="button button-small" onClick={() => onRollback(d)}>
                        Roll back to this
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
