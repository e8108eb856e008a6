import { useDeferredValue, useMemo, useState } from 'react';
import type { AuditEntry } from '../api/index.ts';
import { useApi } from '../api-context.tsx';
import { bucketCounts } from '../charts/time-buckets.ts';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { StackedBarChart } from '../components/stacked-bar-chart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { Pill } from '../components/status-badge.tsx';
import { usePagedList } from '../hooks/use-paged-list.ts';

type OutcomeKind = 'ok' | 'denied' | 'error';

/** Outcomes are free text on the wire; bucket them into three kinds for colour and the chart. */
export function outcomeKind(outcome: string): OutcomeKind {
  const o = outcome.toLowerCase();
  if (/denied|forbidden|unauth|not_allowed|rejected/.test(o)) return 'denied';
  if (/^(ok|success|succeeded|allowed|2\d\d)$/.test(o)) return 'ok';
  return 'error';
}

const OUTCOMES: readonly {
  key: OutcomeKind;
  label: string;
  color: string;
  tone: 'success' | 'failed' | 'progress';
}[] = [
  { key: 'ok', label: 'Succeeded', color: '#2f9e6b', tone: 'success' },
  { key: 'denied', label: 'Denied', color: '#e0a030', tone: 'progress' },
  { key: 'error', label: 'Failed', color: '#d1495b', tone: 'failed' },
];

/** The chart uses every loaded entry; the table shows this many more at a time. */
const ROWS_STEP = 50;

/** Who did what, when, from where: a chart of activity by outcome, then the filterable entries. */
export function AuditLogPage() {
  const api = useApi();
  const log = usePagedList((page, signal) => api.auditLog({ limit: 200, ...page }, signal), [api]);
  const [query, setQuery] = useState('');
  const [shown, setShown] = useState(ROWS_STEP);
  const q = useDeferredValue(query.trim().toLowerCase());

  const filtered = useMemo(
    () =>
      q === ''
        ? log.items
        : log.items.filter((e) =>
            [e.principal, e.action, e.target ?? '', e.outcome, e.ip ?? ''].some((s) =>
              s.toLowerCase().includes(q),
            ),
          ),
    [log.items, q],
  );

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every sign-in, token and deployment change, newest first." />
      {log.status === 'loading' && <Loading rows={6} />}
      {log.status === 'error' && <ErrorState error={log.error} onRetry={log.reload} />}
      {log.status === 'ready' && log.items.length === 0 && (
        <EmptyState title="Nothing recorded yet">
          Actions appear here as people and services use Slate.
        </EmptyState>
      )}
      {log.status === 'ready' && log.items.length > 0 && (
        <div className="stack-lg">
          <ActivityChart entries={filtered} />
          <section className="card" aria-label="Entries">
            <div className="card-header">
              <input
                type="search"
                className="search"
                placeholder="Filter by principal, action, target, IP…"
                aria-label="Filter audit entries"
                value={query}
                onChange={(e) => setQuery(e.target.value)}
              />
              <span className="muted small">
                {filtered.length === log.items.length
                  ? `${log.items.length} entries`
                  : `${filtered.length} of ${log.items.length}`}
              </span>
            </div>
            {filtered.length === 0 ? (
              <p className="card-empty muted">No entry matches “{query}”.</p>
            ) : (
              <AuditTable entries={filtered.slice(0, shown)} />
            )}
            {(shown < filtered.length || log.hasMore) && (
              <div className="card-footer">
                <button
                  type="button"
                  className="button"
                  disabled={log.loadingMore}
                  onClick={() => {
                    if (shown >= filtered.length) log.loadMore();
                    setShown((n) => n + ROWS_STEP);
                  }}
                >
                  {log.loadingMore ? 'Loading…' : 'Load older entries'}
                </button>
              </div>
            )}
          </section>
        </div>
      )}
    </>
  );
}

function ActivityChart({ entries }: { entries: readonly AuditEntry[] }) {
  const chart = useMemo(() => {
    const b = bucketCounts(
      entries,
      (e) => Date.parse(e.at),
      (e) => outcomeKind(e.outcome),
      OUTCOMES.map((o) => o.key),
      { now: Date.now() },
    );
    return {
      ...b,
      series: OUTCOMES.map((o) => ({ label: o.label, color: o.color, values: b.counts[o.key] })),
    };
  }, [entries]);
  return (
    <div className="card card-pad">
      <h3 className="card-title">Activity</h3>
      <StackedBarChart
        starts={chart.starts}
        unit={chart.unit}
        series={chart.series}
        height={150}
        label={`Audit entries per ${chart.unit}, by outcome`}
      />
    </div>
  );
}

function AuditTable({ entries }: { entries: readonly AuditEntry[] }) {
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            <th>When</th>
            <th>Principal</th>
            <th>Action</th>
            <th className="hide-sm">Target</th>
            <th>Outcome</th>
            <th className="hide-md">IP</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => {
            const kind = OUTCOMES.find((o) => o.key === outcomeKind(e.outcome))!;
            return (
              <tr key={e.id ?? `${e.at}-${i}`}>
                <td className="small nowrap">
                  <RelativeTime iso={e.at} />
                </td>
                <td className="small">{e.principal}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td className="hide-sm small mono cell-wide">
                  {e.target ?? <span className="muted">—</span>}
                </td>
                <td>
                  <Pill tone={kind.tone}>{e.outcome}</Pill>
                </td>
                <td className="hide-md small mono">{e.ip ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
