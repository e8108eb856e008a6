import { useDeferredValue, useMemo, useState } from 'react';
import type { FeatureSpec, GraphArtifact, NamespaceSpec, ResolverSpec } from '../api/index.ts';
import { resolverKindLabel } from '../catalog/graph-index.ts';
import { formatDType, formatStaleness, fqnOf, plural } from '../format.ts';
import { Link } from '../router.tsx';
import { EmptyState } from './states.tsx';
import { Tags } from './tags.tsx';

/** The feature graph of a deployment: namespaces with their features, then resolvers, filterable by text. */
export function FeatureCatalog({ graph, environmentId }: { graph: GraphArtifact; environmentId: string }) {
  const [query, setQuery] = useState('');
  const q = useDeferredValue(query.trim().toLowerCase());

  const namespaces = useMemo(
    () =>
      graph.namespaces
        .map((ns) => ({
          ns,
          features: namespaceMatches(ns, q) ? ns.features : ns.features.filter((f) => featureMatches(f, q)),
        }))
        .filter((x) => x.features.length > 0),
    [graph, q],
  );
  const resolvers = useMemo(() => graph.resolvers.filter((r) => resolverMatches(r, q)), [graph, q]);
  const featureCount = graph.namespaces.reduce((n, ns) => n + ns.features.length, 0);

  return (
    <div className="stack-lg">
      <div className="toolbar">
        <input
          type="search"
          className="search"
          placeholder="Filter by name, type, owner, tag…"
          aria-label="Filter features and resolvers"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted small">
          {plural(graph.namespaces.length, 'namespace')} · {plural(featureCount, 'feature')} ·{' '}
          {plural(graph.resolvers.length, 'resolver')}
        </span>
      </div>

      {namespaces.length === 0 && resolvers.length === 0 && (
        <EmptyState title={q ? 'Nothing matches' : 'This graph is empty'}>
          {q ? `No feature or resolver matches “${query}”.` : 'The deployment defines no features.'}
        </EmptyState>
      )}

      {namespaces.map(({ ns, features }) => (
        <NamespaceCard key={ns.name} ns={ns} features={features} environmentId={environmentId} />
      ))}

      {resolvers.length > 0 && (
        <section className="card" aria-label="Resolvers">
          <div className="card-header">
            <h3 className="card-title">Resolvers</h3>
            <span className="muted">{plural(resolvers.length, 'resolver')}</span>
          </div>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Resolver</th>
                  <th>Inputs → outputs</th>
                  <th className="hide-sm">Tags</th>
                </tr>
              </thead>
              <tbody>
                {resolvers.map((r) => (
                  <tr key={r.fqn}>
                    <td>
                      <Link to={{ kind: 'resolver', environmentId, fqn: r.fqn }} className="strong-link">
                        <code className="strong">{r.fqn}</code>
                      </Link>
                      <div className="muted small inline-gap">
                        <span>{resolverKindLabel(r)}</span>
                        {r.cron && <span>cron {r.cron}</span>}
                        {r.environments && r.environments.length > 0 && (
                          <span>only in {r.environments.join(', ')}</span>
                        )}
                      </div>
                      {r.description && <div className="small">{r.description}</div>}
                    </td>
                    <td className="cell-wide">
                      <div className="io">
                        <span className="io-list">
                          {r.inputs.length === 0 ? (
                            <span className="muted">(no inputs)</span>
                          ) : (
                            r.inputs.map((i) => <code key={fqnOf(i)}>{fqnOf(i)}</code>)
                          )}
                        </span>
                        <span className="io-arrow" aria-hidden="true">
                          →
                        </span>
                        <span className="visually-hidden">produces</span>
                        <span className="io-list">
                          {r.outputs.map((o) => (
                            <code key={fqnOf(o)}>{fqnOf(o)}</code>
                          ))}
                        </span>
                      </div>
                    </td>
                    <td className="hide-sm">
                      <Tags tags={r.tags} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </div>
  );
}

function NamespaceCard({
  ns,
  features,
  environmentId,
}: {
  ns: NamespaceSpec;
  features: readonly FeatureSpec[];
  environmentId: string;
}) {
  return (
    <section className="card" aria-label={`Namespace ${ns.name}`}>
      <div className="card-header">
        <div>
          <h3 className="card-title mono">{ns.name}</h3>
          {ns.description && <div className="muted small">{ns.description}</div>}
        </div>
        <span className="muted small inline-gap">
          {ns.owner && <span>{ns.owner}</span>}
          <Tags tags={ns.tags} />
          <span>{plural(ns.features.length, 'feature')}</span>
        </span>
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Feature</th>
              <th>Type</th>
              <th className="hide-sm">Description</th>
              <th className="hide-md">Owner</th>
              <th className="hide-md">Tags</th>
              <th className="nowrap" title="How old a cached online value may be">
                Max staleness
              </th>
            </tr>
          </thead>
          <tbody>
            {features.map((f) => (
              <tr key={f.fqn}>
                <td>
                  <Link to={{ kind: 'feature', environmentId, fqn: f.fqn }} className="strong-link">
                    <code className="strong">{f.name ?? f.fqn.slice(ns.name.length + 1)}</code>
                  </Link>
                  {f.fqn === ns.primaryKey && <span className="pk">primary key</span>}
                </td>
                <td>
                  <code className="dtype">{featureType(f)}</code>
                </td>
                <td className="hide-sm cell-wide">{f.description ?? <span className="muted">—</span>}</td>
                <td className="hide-md small">{f.owner ?? ns.owner ?? <span className="muted">—</span>}</td>
                <td className="hide-md">
                  <Tags tags={f.tags} />
                </td>
                <td className="small nowrap">
                  {f.kind === 'has_one' ? <span className="muted">—</span> : formatStaleness(f.maxStalenessS)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function featureType(f: FeatureSpec): string {
  if (f.kind === 'has_many' || f.kind === 'has_one') return `${f.kind} → ${f.target ?? '?'}`;
  return formatDType(f.dtype) || f.kind;
}

function includes(haystack: string | undefined, q: string): boolean {
  return haystack?.toLowerCase().includes(q) ?? false;
}

function namespaceMatches(ns: NamespaceSpec, q: string): boolean {
  return (
    q === '' || includes(ns.name, q) || includes(ns.owner, q) || (ns.tags ?? []).some((t) => includes(t, q))
  );
}

function featureMatches(f: FeatureSpec, q: string): boolean {
  return (
    includes(f.fqn, q) ||
    includes(featureType(f), q) ||
    includes(f.description, q) ||
    includes(f.owner, q) ||
    (f.tags ?? []).some((t) => includes(t, q))
  );
}

function resolverMatches(r: ResolverSpec, q: string): boolean {
  return (
    q === '' ||
    includes(r.fqn, q) ||
    includes(resolverKindLabel(r), q) ||
    (r.tags ?? []).some((t) => includes(t, q)) ||
    [...r.inputs, ...r.outputs].some((io) => includes(fqnOf(io), q))
  );
}
