import type { ChalkError, OnlineQueryResponse } from '@slate/client';
import { Link } from '../router.tsx';

/** A value as text: strings as they are, everything else as JSON; `null` spelled out. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * The answer of an online query: one row per requested output (value, or the error about it; the chosen
 * resolver and cache hit when meta was asked for), request-level errors, the query's meta and its plan.
 */
export function OnlineQueryResult({
  response,
  outputs,
  environmentId,
}: {
  response: OnlineQueryResponse;
  outputs: readonly string[];
  environmentId: string;
}) {
  const byField = new Map(response.data.map((d) => [d.field, d]));
  const errorsFor = (fqn: string): ChalkError[] => [
    ...(byField.get(fqn)?.error ? [byField.get(fqn)!.error!] : []),
    ...response.errors.filter((e) => e.feature === fqn),
  ];
  const requestErrors = response.errors.filter((e) => !e.feature || !outputs.includes(e.feature));
  const extra = response.data.filter((d) => !outputs.includes(d.field));
  const rows = [...outputs, ...extra.map((d) => d.field)];
  const { explain_output: explain, ...meta } = response.meta ?? {};
  return (
    <div className="stack-lg" aria-live="polite">
      {requestErrors.length > 0 && (
        <section className="card card-pad state-error" aria-label="Query errors">
          <h3 className="card-title">Errors</h3>
          <ul className="error-list">
            {requestErrors.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: errors have no identity; their order is the server's
              <li key={i}>
                <code>{e.code}</code> {e.message}
                {e.feature && <span className="muted"> ({e.feature})</span>}
              </li>
            ))}
          </ul>
        </section>
      )}
      <section className="card" aria-label="Results">
        <div className="card-header">
          <h3 className="card-title">Results</h3>
          {typeof meta.execution_duration_s === 'number' && (
            <span className="muted small">{(meta.execution_duration_s * 1000).toFixed(1)} ms</span>
          )}
        </div>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Value</th>
                <th className="hide-sm">Resolver</th>
                <th className="hide-sm">Cache</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((fqn) => {
                const result = byField.get(fqn);
                const errors = errorsFor(fqn);
                return (
                  <tr key={fqn} data-feature={fqn}>
                    <td>
                      <Link to={{ kind: 'feature', environmentId, fqn }}>
                        <code>{fqn}</code>
                      </Link>
                    </td>
                    <td className="cell-wide">
                      {errors.length > 0 ? (
                        <div className="cell-error result-error">
                          {errors.map((e) => (
                            <span key={`${e.code}:${e.message}`} className="block">
                              <code>{e.code}</code> {e.message}
                            </span>
                          ))}
                        </div>
                      ) : result ? (
                        <code className="query-value">{formatValue(result.value)}</code>
                      ) : (
                        <span className="muted">not returned</span>
                      )}
                    </td>
                    <td className="hide-sm small">
                      {result?.meta?.chosen_resolver_fqn ? (
                        <Link to={{ kind: 'resolver', environmentId, fqn: result.meta.chosen_resolver_fqn }}>
                          <code>{result.meta.chosen_resolver_fqn}</code>
                        </Link>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td className="hide-sm small">
                      {result?.meta?.cache_hit === true
                        ? 'hit'
                        : result?.meta?.cache_hit === false
                          ? 'miss'
                          : '—'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
      {Object.keys(meta).length > 0 && (
        <section className="card" aria-label="Meta">
          <div className="card-header">
            <h3 className="card-title">Meta</h3>
          </div>
          <dl className="facts card-pad">
            {Object.entries(meta)
              .filter(([, v]) => v !== null && v !== undefined)
              .map(([key, value]) => (
                <div key={key} className="fact">
                  <dt className="mono">{key}</dt>
                  <dd className="mono">{formatValue(value)}</dd>
                </div>
              ))}
          </dl>
        </section>
      )}
      {explain !== undefined && explain !== null && (
        <section className="card" aria-label="Explain">
          <div className="card-header">
            <h3 className="card-title">Explain</h3>
          </div>
          <pre className="code-block">
            {typeof explain === 'string' ? explain : JSON.stringify(explain, null, 2)}
          </pre>
        </section>
      )}
    </div>
  );
}
