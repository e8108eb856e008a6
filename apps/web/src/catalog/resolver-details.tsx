import type { ResolverSpec } from '../api/index.ts';
import { Tags } from '../components/tags.tsx';
import { fqnOf } from '../format.ts';
import { Facts, FeatureLinks, SourceRef } from './facts.tsx';
import { type GraphIndex, inputFqns, resolverKindLabel } from './graph-index.ts';

/** A resolver's definition: kind, inputs, outputs, schedule, where it reads from and where it is defined. */
export function ResolverDetails({
  resolver,
  environmentId,
}: {
  resolver: ResolverSpec;
  index: GraphIndex;
  environmentId: string;
}) {
  return (
    <section className="card" aria-label="Definition">
      <div className="card-header">
        <h3 className="card-title">Definition</h3>
        <span className="kind-chip">{resolverKindLabel(resolver)}</span>
      </div>
      <div className="card-pad">
        {resolver.description && <p className="entry-description">{resolver.description}</p>}
        <Facts
          rows={{
            Kind: resolverKindLabel(resolver),
            Owner: resolver.owner ?? <span className="muted">—</span>,
            Tags:
              (resolver.tags?.length ?? 0) > 0 ? (
                <Tags tags={resolver.tags} />
              ) : (
                <span className="muted">—</span>
              ),
            Schedule: resolver.cron ? <code>{resolver.cron}</code> : null,
            Environments: resolver.environments?.length ? resolver.environments.join(', ') : null,
            Timeout: resolver.timeoutMs ? `${resolver.timeoutMs.toLocaleString()} ms` : null,
            'Data source': resolver.sql?.dataSource ? <code>{resolver.sql.dataSource}</code> : null,
            Topic: resolver.stream?.topic ? <code>{resolver.stream.topic}</code> : null,
            Inputs: (
              <FeatureLinks
                fqns={resolver.inputs.flatMap((i) => inputFqns(i))}
                environmentId={environmentId}
              />
            ),
            Outputs: <FeatureLinks fqns={resolver.outputs.map(fqnOf)} environmentId={environmentId} />,
            Source: <SourceRef source={resolver.source} />,
            'SQL file': resolver.sql?.file ? <code>{resolver.sql.file}</code> : null,
          }}
        />
        {resolver.sql?.query && <pre className="code-block">{resolver.sql.query}</pre>}
      </div>
    </section>
  );
}
