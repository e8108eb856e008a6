import type { Deployment } from '../api/index.ts';
import { formatDateTime } from '../format.ts';
import { statusCategory, statusLabel } from '../status.ts';

/** The last deployments as a row of coloured ticks, oldest on the left, like a CI history. */
export function DeploymentStrip({
  deployments,
  max = 20,
}: {
  deployments: readonly Deployment[];
  max?: number;
}) {
  const shown = deployments.slice(0, max).reverse();
  const failed = shown.filter((d) => statusCategory(d.status) === 'failed').length;
  return (
    <span className="strip" role="img" aria-label={`Last ${shown.length} deployments, ${failed} failed`}>
      {shown.map((d) => (
        <span
          key={d.id}
          className={`strip-tick tick-${statusCategory(d.status)}`}
          title={`${statusLabel(d.status)} · ${formatDateTime(d.created_at)}${d.git?.commit ? ` · ${d.git.commit.slice(0, 7)}` : ''}`}
        />
      ))}
    </span>
  );
}
