import type { ReactNode } from 'react';
import type { ResolverSpec, SourceLocation } from '../api/index.ts';
import { Link } from '../router.tsx';
import { resolverKindLabel } from './graph-index.ts';

/** A two-column list of facts; rows whose value is `null`/`undefined` are left out. */
export function Facts({ rows }: { rows: Readonly<Record<string, ReactNode>> }) {
  return (
    <dl className="facts">
      {Object.entries(rows)
        .filter(([, value]) => value !== null && value !== undefined && value !== false)
        .map(([label, value]) => (
          <div key={label} className="fact">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** `file:line`, as an editor or `grep -n` reads it. */
export function SourceRef({ source }: { source: SourceLocation | undefined }) {
  if (!source) return <span className="muted">not recorded by the deployment</span>;
  return <code>{`${source.file}:${source.line}`}</code>;
}

/** Links to resolvers, each with its kind. */
export function ResolverLinks({
  resolvers,
  environmentId,
  empty,
}: {
  resolvers: readonly ResolverSpec[];
  environmentId: string;
  empty: string;
}) {
  if (resolvers.length === 0) return <span className="muted">{empty}</span>;
  return (
    <ul className="link-list">
      {resolvers.map((r) => (
        <li key={r.fqn}>
          <Link to={{ kind: 'resolver', environmentId, fqn: r.fqn }}>
            <code>{r.fqn}</code>
          </Link>{' '}
          <span className="kind-chip">{resolverKindLabel(r)}</span>
        </li>
      ))}
    </ul>
  );
}

/** Links to features by FQN (one per line). */
export function FeatureLinks({ fqns, environmentId }: { fqns: readonly string[]; environmentId: string }) {
  if (fqns.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="link-list">
      {fqns.map((fqn) => (
        <li key={fqn}>
          <Link to={{ kind: 'feature', environmentId, fqn }}>
            <code>{fqn}</code>
          </Link>
        </li>
      ))}
    </ul>
  );
}
