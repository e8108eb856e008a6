import './catalog.css';
import { useMemo } from 'react';
import type { Environment, GraphArtifact } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { Link } from '../router.tsx';
import { EntryVersions } from './entry-versions-card.tsx';
import { FeatureDetails } from './feature-details.tsx';
import { createGraphIndex } from './graph-index.ts';
import { featureLineage, resolverLineage } from './lineage.ts';
import { LineageGraph } from './lineage-graph.tsx';
import { ResolverDetails } from './resolver-details.tsx';

/**
 * `/environments/:id/features/:fqn` and `/environments/:id/resolvers/:fqn`: one definition of the
 * environment's active deployment, its lineage, and the deployments in which it changed.
 */
export function CatalogEntryPage({
  environmentId,
  kind,
  fqn,
}: {
  environmentId: string;
  kind: 'feature' | 'resolver';
  fqn: string;
}) {
  const api = useApi();
  const [loaded, reload] = useResource(
    async (signal) => {
      const env = await api.environment(environmentId, signal);
      const detail = env.active_deployment_id ? await api.deployment(env.active_deployment_id, signal) : null;
      return { env, graph: detail?.graph ?? null };
    },
    [api, environmentId],
  );
  if (loaded.status === 'loading') return <Loading rows={8} />;
  if (loaded.status === 'error') return <ErrorState error={loaded.error} onRetry={reload} />;
  const { env, graph } = loaded.data;
  return <EntryView env={env} graph={graph} kind={kind} fqn={fqn} />;
}

function EntryView({
  env,
  graph,
  kind,
  fqn,
}: {
  env: Environment;
  graph: GraphArtifact | null;
  kind: 'feature' | 'resolver';
  fqn: string;
}) {
  const index = useMemo(() => (graph ? createGraphIndex(graph) : null), [graph]);
  const crumbs = (
    <>
      <Link to="/">Environments</Link> /{' '}
      <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }}>{env.name}</Link> /{' '}
      <Link to={{ kind: 'environment', id: env.id, tab: 'catalog' }}>Feature catalog</Link>
    </>
  );
  const feature = kind === 'feature' ? index?.feature(fqn) : undefined;
  const resolver = kind === 'resolver' ? index?.resolver(fqn) : undefined;
  const lineage = useMemo(
    () => (index ? (kind === 'feature' ? featureLineage(index, fqn) : resolverLineage(index, fqn)) : null),
    [index, kind, fqn],
  );
  if (!index || (!feature && !resolver)) {
    return (
      <>
        <PageHeader crumbs={crumbs} title={<code>{fqn}</code>} />
        <EmptyState title={`No ${kind} ${fqn}`}>
          {graph
            ? `The deployment ${env.name} serves defines no ${kind} named ${fqn}.`
            : `${env.name} serves no deployment yet.`}{' '}
          <Link to={{ kind: 'environment', id: env.id, tab: 'catalog' }}>Back to the catalog</Link>.
        </EmptyState>
      </>
    );
  }
  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title={<code className="entry-title">{fqn}</code>}
        subtitle={<span className="muted">{kind === 'feature' ? 'Feature' : 'Resolver'}</span>}
        actions={
          kind === 'feature' ? (
            <Link
              to={`/environments/${encodeURIComponent(env.id)}/query?output=${encodeURIComponent(fqn)}`}
              className="button"
            >
              Query it
            </Link>
          ) : undefined
        }
      />
      <div className="stack-lg">
        {feature && <FeatureDetails entry={feature} index={index} environmentId={env.id} />}
        {resolver && <ResolverDetails resolver={resolver} index={index} environmentId={env.id} />}
        {lineage && (
          <section className="card" aria-label="Lineage">
            <div className="card-header">
              <h3 className="card-title">Lineage</h3>
              <span className="muted small">inputs → resolvers → features → relationships</span>
            </div>
            <div className="card-pad">
              <LineageGraph lineage={lineage} environmentId={env.id} />
            </div>
          </section>
        )}
        <EntryVersions environmentId={env.id} kind={kind} fqn={fqn} />
        {feature && (
          <section className="card" aria-label="Serving metrics">
            <div className="card-header">
              <h3 className="card-title">Serving metrics</h3>
            </div>
            <p className="card-pad muted small">
              Request counts, null ratios and latest values per feature need per-minute metric rollups, which
              the metadata plane does not store yet. The environment's metered usage is on its{' '}
              <Link to={{ kind: 'environment', id: env.id, tab: 'deployments' }}>deployments page</Link>.
            </p>
          </section>
        )}
      </div>
    </>
  );
}
