import { Tags } from '../components/tags.tsx';
import { formatDType, formatStaleness } from '../format.ts';
import { Link } from '../router.tsx';
import { Facts, ResolverLinks, SourceRef } from './facts.tsx';
import type { GraphIndex, IndexedFeature } from './graph-index.ts';

/** A feature's definition and the resolvers around it. */
export function FeatureDetails({
  entry,
  index,
  environmentId,
}: {
  entry: IndexedFeature;
  index: GraphIndex;
  environmentId: string;
}) {
  const { feature, namespace } = entry;
  const relationship = feature.kind === 'has_one' || feature.kind === 'has_many';
  return (
    <section className="card" aria-label="Definition">
      <div className="card-header">
        <h3 className="card-title">Definition</h3>
        <span className="muted small mono">{namespace.name}</span>
      </div>
      <div className="card-pad">
        {feature.description && <p className="entry-description">{feature.description}</p>}
        <Facts
          rows={{
            Type: relationship ? (
              <span>
                <code>{feature.kind}</code> → <span className="mono">{feature.target ?? '?'}</span>
                {feature.join && (
                  <span className="muted small">
                    {' '}
                    on {feature.join.map((j) => `${j.foreign} = ${j.local}`).join(', ')}
                  </span>
                )}
              </span>
            ) : (
              <code className="dtype">{formatDType(feature.dtype) || feature.kind}</code>
            ),
            'Primary key': feature.fqn === namespace.primaryKey ? 'yes' : null,
            Nullable: feature.kind === 'scalar' && feature.nullable ? 'yes' : null,
            Owner: feature.owner ?? namespace.owner ?? <span className="muted">—</span>,
            Tags:
              (feature.tags?.length ?? 0) > 0 ? (
                <Tags tags={feature.tags} />
              ) : (
                <span className="muted">—</span>
              ),
            'Max staleness':
              relationship && feature.kind === 'has_one' ? null : formatStaleness(feature.maxStalenessS),
            Versions:
              feature.kind === 'scalar' && feature.versions && feature.versions > 1
                ? `${feature.versions} (address as ${feature.fqn}@N)`
                : null,
            'Computed by':
              feature.kind === 'scalar' && feature.expression ? 'an expression (no resolver)' : null,
            Source: <SourceRef source={feature.source} />,
            'Resolved by': (
              <ResolverLinks
                resolvers={index.producers(feature.fqn)}
                environmentId={environmentId}
                empty={feature.fqn === namespace.primaryKey ? 'an input (primary key)' : 'no resolver'}
              />
            ),
            'Read by': (
              <ResolverLinks
                resolvers={index.consumers(feature.fqn)}
                environmentId={environmentId}
                empty="no resolver"
              />
            ),
            Namespace: (
              <span>
                <span className="mono">{namespace.name}</span>
                {namespace.primaryKey !== feature.fqn && (
                  <>
                    {' '}
                    · primary key{' '}
                    <Link to={{ kind: 'feature', environmentId, fqn: namespace.primaryKey }}>
                      <code>{namespace.primaryKey}</code>
                    </Link>
                  </>
                )}
              </span>
            ),
          }}
        />
      </div>
    </section>
  );
}
