import './playground.css';
import { useState } from 'react';
import { useApi } from '../api-context.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { Link } from '../router.tsx';
import { OfflineQueryPanel } from './offline-query-panel.tsx';
import { OnlineQueryPanel } from './online-query-panel.tsx';

type Mode = 'online' | 'offline';

/**
 * `/environments/:id/query`: online and offline queries against the environment's active deployment,
 * sent through the API host with the user's session. `?output=<fqn>` (repeatable) pre-selects outputs;
 * `?mode=offline` opens the offline tab.
 */
export function QueryPage({ environmentId }: { environmentId: string }) {
  const api = useApi();
  const [params] = useState(() => new URLSearchParams(window.location.search));
  const [mode, setMode] = useState<Mode>(params.get('mode') === 'offline' ? 'offline' : 'online');
  const [loaded, reload] = useResource(
    async (signal) => {
      const env = await api.environment(environmentId, signal);
      const detail = env.active_deployment_id ? await api.deployment(env.active_deployment_id, signal) : null;
      return { env, graph: detail?.graph ?? null };
    },
    [api, environmentId],
  );
  if (loaded.status === 'loading') return <Loading rows={6} />;
  if (loaded.status === 'error') return <ErrorState error={loaded.error} onRetry={reload} />;
  const { env, graph } = loaded.data;
  const initialOutputs = params.getAll('output');
  return (
    <>
      <PageHeader
        crumbs={
          <>
            <Link to="/">Environments</Link> /{' '}
            <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }}>{env.name}</Link>
          </>
        }
        title="Query"
        subtitle={<span className="muted">Runs against the deployment {env.name} serves, as you.</span>}
      />
      <div className="tabs">
        {(['online', 'offline'] as const).map((m) => (
          <button key={m} type="button" className="tab" aria-pressed={mode === m} onClick={() => setMode(m)}>
            {m === 'online' ? 'Online' : 'Offline'}
          </button>
        ))}
      </div>
      {!graph ? (
        <EmptyState title="Nothing to query yet">
          {env.name} serves no deployment. Deploy a feature repository (<code>slate apply</code>) first.
        </EmptyState>
      ) : mode === 'online' ? (
        <OnlineQueryPanel environmentId={env.id} graph={graph} initialOutputs={initialOutputs} />
      ) : (
        <OfflineQueryPanel environmentId={env.id} graph={graph} initialOutputs={initialOutputs} />
      )}
    </>
  );
}
