import { useCallback, useEffect, useState } from 'react';
import type { Deployment, Environment } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { DeploymentCharts } from '../components/deployment-charts.tsx';
import { DeploymentsTable } from '../components/deployments-table.tsx';
import { FeatureCatalog } from '../components/feature-catalog.tsx';
import { JobsTable } from '../components/jobs-table.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { UsageChart } from '../components/usage-chart.tsx';
import { shortId, shortSha } from '../format.ts';
import { usePagedList } from '../hooks/use-paged-list.ts';
import { useResource } from '../hooks/use-resource.ts';
import { type EnvironmentTab, Link } from '../router.tsx';
import { statusCategory } from '../status.ts';
import { SchedulesSection } from './environment-schedules.tsx';
import { ServingSection } from './environment-serving.tsx';

/** While a deployment is rolling out, re-read the history this often. */
const POLL_MS = 4_000;
/**
 * Otherwise this often, so a deployment made elsewhere (`slate apply`, CI) shows up without a reload; only
 * while the tab is visible, and at once when it becomes visible again.
 */
const IDLE_POLL_MS = 10_000;
/** The chart uses every loaded deployment; the table shows this many more at a time. */
const ROWS_STEP = 20;

/**
 * One environment: its deployment history (chart and table, with roll back), its feature catalog and its
 * schedules (fires chart, pause and resume).
 */
export function EnvironmentPage({ id, tab }: { id: string; tab: EnvironmentTab }) {
  const api = useApi();
  const [env, reloadEnv] = useResource((signal) => api.environment(id, signal), [api, id]);

  if (env.status === 'loading') return <Loading rows={6} />;
  if (env.status === 'error') return <ErrorState error={env.error} onRetry={reloadEnv} />;
  return <EnvironmentView env={env.data} tab={tab} onChanged={reloadEnv} />;
}

function EnvironmentView({
  env,
  tab,
  onChanged,
}: {
  env: Environment;
  tab: EnvironmentTab;
  onChanged: () => void;
}) {
  const api = useApi();
  const deployments = usePagedList(
    (page, signal) => api.deployments(env.id, { limit: 100, ...page }, signal),
    [api, env.id],
  );
  const active = deployments.items.find((d) => d.id === env.active_deployment_id);
  const rollingOut = deployments.items.some((d) => statusCategory(d.status) === 'progress');

  const { reload } = deployments;
  useEffect(() => {
    const refresh = () => {
      if (document.visibilityState === 'hidden') return;
      reload();
      onChanged();
    };
    const timer = setInterval(refresh, rollingOut ? POLL_MS : IDLE_POLL_MS);
    document.addEventListener('visibilitychange', refresh);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', refresh);
    };
  }, [rollingOut, reload, onChanged]);

  return (
    <>
      <PageHeader
        crumbs={<Link to="/">Environments</Link>}
        title={env.name}
        subtitle={
          <span className="inline-gap">
            {active ? (
              <>
                <StatusBadge status={active.status} />
                <span>
                  serving {active.git?.branch && <span className="branch">{active.git.branch}</span>}{' '}
                  {active.git?.commit && <code>{shortSha(active.git.commit)}</code>} since{' '}
                  <RelativeTime iso={active.activated_at ?? active.created_at} />
                </span>
              </>
            ) : env.active_deployment_id ? (
              <span className="mono">serving {shortId(env.active_deployment_id)}</span>
            ) : (
              <span>Nothing deployed yet</span>
            )}
            <span className="muted mono small" title={env.id}>
              {env.id}
            </span>
          </span>
        }
        actions={
          <>
            <Link to={{ kind: 'query', environmentId: env.id }} className="button button-primary">
              Query
            </Link>
            <Link to={{ kind: 'tokens', environmentId: env.id }} className="button">
              Service tokens
            </Link>
          </>
        }
      />
      <nav className="tabs" aria-label="Environment sections">
        <Link
          to={{ kind: 'environment', id: env.id, tab: 'deployments' }}
          className="tab"
          aria-current={tab === 'deployments' ? 'page' : undefined}
        >
          Deployments
        </Link>
        <Link
          to={{ kind: 'environment', id: env.id, tab: 'catalog' }}
          className="tab"
          aria-current={tab === 'catalog' ? 'page' : undefined}
        >
          Feature catalog
        </Link>
        <Link
          to={{ kind: 'environment', id: env.id, tab: 'schedules' }}
          className="tab"
          aria-current={tab === 'schedules' ? 'page' : undefined}
        >
          Schedules
        </Link>
        <Link
          to={{ kind: 'environment', id: env.id, tab: 'serving' }}
          className="tab"
          aria-current={tab === 'serving' ? 'page' : undefined}
        >
          Serving
        </Link>
      </nav>
      {tab === 'deployments' ? (
        <DeploymentsSection env={env} list={deployments} onChanged={onChanged} />
      ) : tab === 'schedules' ? (
        <SchedulesSection env={env} />
      ) : tab === 'serving' ? (
        <ServingSection env={env} />
      ) : (
        <CatalogSection environmentId={env.id} activeId={env.active_deployment_id ?? null} />
      )}
    </>
  );
}

function DeploymentsSection({
  env,
  list,
  onChanged,
}: {
  env: Environment;
  list: ReturnType<typeof usePagedList<Deployment>>;
  onChanged: () => void;
}) {
  const api = useApi();
  const [target, setTarget] = useState<Deployment | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [shown, setShown] = useState(ROWS_STEP);

  const cancel = useCallback(() => {
    setTarget(null);
    setError(null);
  }, []);

  const confirm = async () => {
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      const created = await api.redeploy(target.id);
      setNotice(
        `Rolling back to ${target.git?.commit ? shortSha(target.git.commit) : shortId(target.id)}: deployment ${shortId(created.id)} is ${created.status.toLowerCase()}.`,
      );
      setTarget(null);
      list.reload();
      onChanged();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (list.status === 'loading') return <Loading rows={6} />;
  if (list.status === 'error') return <ErrorState error={list.error} onRetry={list.reload} />;
  if (list.items.length === 0) {
    return (
      <EmptyState title="No deployments yet">
        Deploy a feature repository to this environment with <code>slate apply</code>; its history will show
        here.
      </EmptyState>
    );
  }
  return (
    <div className="stack-lg">
      {notice && (
        <div className="notice" role="status">
          {notice}
          <button type="button" className="button button-ghost button-small" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </div>
      )}
      <DeploymentCharts deployments={list.items} />
      <EnvironmentUsage environmentId={env.id} />
      <EnvironmentJobs environmentId={env.id} />
      <section className="card" aria-label="Deployment history">
        <div className="card-header">
          <h3 className="card-title">History</h3>
          <span className="muted small">Newest first</span>
        </div>
        <DeploymentsTable
          deployments={list.items.slice(0, shown)}
          activeId={env.active_deployment_id ?? null}
          onRollback={setTarget}
        />
        {(shown < list.items.length || list.hasMore) && (
          <div className="card-footer">
            <button
              type="button"
              className="button"
              disabled={list.loadingMore}
              onClick={() => {
                if (shown >= list.items.length) list.loadMore();
                setShown((n) => n + ROWS_STEP);
              }}
            >
              {list.loadingMore ? 'Loading…' : 'Show older deployments'}
            </button>
          </div>
        )}
      </section>
      {target && (
        <ConfirmDialog
          title="Roll back to this deployment?"
          confirmLabel="Roll back"
          busy={busy}
          error={error}
          onConfirm={confirm}
          onCancel={cancel}
        >
          <p>
            <strong>{env.name}</strong> will redeploy{' '}
            {target.git?.commit ? (
              <>
                commit <code>{shortSha(target.git.commit)}</code>
                {target.git.branch && (
                  <>
                    {' '}
                    on <span className="branch">{target.git.branch}</span>
                  </>
                )}
              </>
            ) : (
              <code>{shortId(target.id)}</code>
            )}
            , deployed <RelativeTime iso={target.created_at} />.
          </p>
          {target.git?.message && <blockquote className="quote">{target.git.message}</blockquote>}
          <p className="muted">
            A new deployment is created from the same source and graph. The current deployment keeps serving
            until the new one is live.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function CatalogSection({ environmentId, activeId }: { environmentId: string; activeId: string | null }) {
  const api = useApi();
  const [detail, reload] = useResource(
    async (signal) => (activeId ? api.deployment(activeId, signal) : null),
    [api, activeId],
  );
  if (!activeId) {
    return (
      <EmptyState title="No active deployment">
        The catalog shows the features of the deployment an environment serves.
      </EmptyState>
    );
  }
  if (detail.status === 'loading') return <Loading rows={8} />;
  if (detail.status === 'error') return <ErrorState error={detail.error} onRetry={reload} />;
  const graph = detail.data?.graph;
  if (!graph) {
    return (
      <EmptyState title="Catalog not available">
        This server does not return the feature graph with <code>GET /v1/deployments/{'{id}'}</code> yet.
      </EmptyState>
    );
  }
  return <FeatureCatalog graph={graph} environmentId={environmentId} />;
}

const USAGE_WINDOW_MS = 48 * 3_600_000;

/** The environment's metered usage over the last two days (needs `billing.read`; hidden without it). */
function EnvironmentUsage({ environmentId }: { environmentId: string }) {
  const api = useApi();
  const [range] = useState(() => {
    const to = Date.now();
    return { from: to - USAGE_WINDOW_MS, to };
  });
  const [usage] = useResource(
    (signal) =>
      api.usage(
        environmentId,
        { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() },
        signal,
      ),
    [api, environmentId, range],
  );
  if (usage.status !== 'ready') return null;
  return <UsageChart usage={usage.data} from={range.from} to={range.to} />;
}

/** Offline queries and runs of the environment, refreshed while any is still going. */
function EnvironmentJobs({ environmentId }: { environmentId: string }) {
  const api = useApi();
  const [jobs, reload] = useResource(
    (signal) => api.jobs(environmentId, { limit: 20 }, signal),
    [api, environmentId],
  );
  const loadDetail = useCallback(
    (operationId: string, signal: AbortSignal) => api.job(environmentId, operationId, signal),
    [api, environmentId],
  );
  const going =
    jobs.status === 'ready' && jobs.data.items.some((j) => j.status === 'QUEUED' || j.status === 'RUNNING');
  useEffect(() => {
    if (!going) return;
    const timer = setInterval(reload, 3_000);
    return () => clearInterval(timer);
  }, [going, reload]);
  if (jobs.status !== 'ready' || jobs.data.items.length === 0) return null;
  return (
    <section className="card" aria-label="Jobs">
      <div className="card-header">
        <h3 className="card-title">Offline queries and runs</h3>
        <span className="muted small">{going ? 'updating…' : 'most recent first'}</span>
      </div>
      <JobsTable jobs={jobs.data.items} loadDetail={loadDetail} />
    </section>
  );
}
