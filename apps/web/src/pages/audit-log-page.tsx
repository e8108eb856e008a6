import type { AuditEntry, AuditFilter } from '@slate/client';
import { useCallback, useDeferredValue, useMemo, useRef, useState } from 'react';
import { useApi } from '../api-context.tsx';
import { bucketCounts } from '../charts/time-buckets.ts';
import { PageHeader } from '../components/page-header.tsx';
import { RelativeTime } from '../components/relative-time.tsx';
import { StackedBarChart } from '../components/stacked-bar-chart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { Pill } from '../components/status-badge.tsx';
import { plural } from '../format.ts';
import { usePagedList } from '../hooks/use-paged-list.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../me-context.tsx';

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

/**
 * Who did what, when, from where: a chart of activity by outcome, then the entries. Actor and action
 * filter on the server (the whole log, not just the loaded pages); the search box narrows what is loaded.
 */
export function AuditLogPage() {
  const api = useApi();
  const [filter, setFilter] = useState<{ principal?: string; action?: string }>({});
  const log = usePagedList(
    (page, signal) => api.admin.auditLog(filter, { limit: 200, ...page }, signal),
    [api, filter.principal, filter.action],
  );
  const facets = useFacets(log.items);
  const nameOf = useActorNames();
  const [query, setQuery] = useState('');
  const [shown, setShown] = useState(ROWS_STEP);
  const q = useDeferredValue(query.trim().toLowerCase());

  const filtered = useMemo(
    () =>
      q === ''
        ? log.items
        : log.items.filter((e) =>
            [nameOf(e.principal), e.principal, e.action, e.target ?? '', e.outcome, e.ip ?? ''].some((s) =>
              s.toLowerCase().includes(q),
            ),
          ),
    [log.items, q, nameOf],
  );

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every sign-in, token and deployment change, newest first." />
      {log.status === 'loading' && <Loading rows={6} />}
      {log.status === 'error' && <ErrorState error={log.error} onRetry={log.reload} />}
      {log.status !== 'loading' && (
        <AuditFilters
          filter={filter}
          facets={facets}
          nameOf={nameOf}
          onChange={(next) => {
            setShown(ROWS_STEP);
            setFilter(next);
          }}
        />
      )}
      {log.status === 'ready' && log.items.length === 0 && (
        <EmptyState title={filter.principal || filter.action ? 'No entry matches' : 'Nothing recorded yet'}>
          {filter.principal || filter.action
            ? 'Nothing in the log has this actor and action.'
            : 'Actions appear here as people and services use Slate.'}
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
                  ? plural(log.items.length, 'entry', 'entries')
                  : `${filtered.length} of ${log.items.length}`}
              </span>
            </div>
            {filtered.length === 0 ? (
              <p className="card-empty muted">No entry matches “{query}”.</p>
            ) : (
              <AuditTable
                entries={filtered.slice(0, shown)}
                nameOf={nameOf}
                onActor={(principal) => setFilter((f) => ({ ...f, principal }))}
              />
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

/**
 * Names people in the log: `user:<id>` becomes their email, from the members of the signed-in user's teams
 * (a team whose members cannot be read keeps its ids). Other principals stay as they are.
 */
function useActorNames(): (principal: string) => string {
  const api = useApi();
  const me = useMe();
  const teamIds = me.teams.map((t) => t.id).join(',');
  const [emails] = useResource(
    async (signal) => {
      const byId = new Map<string, string>([[me.user.id, me.user.email]]);
      for (const teamId of teamIds.split(',').filter(Boolean)) {
        const members = await api.admin.members(teamId, signal).catch(() => ({ items: [] }));
        for (const m of members.items) byId.set(m.user_id, m.email);
      }
      return byId;
    },
    [api, teamIds, me.user.id],
  );
  const known = emails.status === 'ready' ? emails.data : undefined;
  return useCallback(
    (principal: string) =>
      (principal.startsWith('user:') && known?.get(principal.slice('user:'.length))) || principal,
    [known],
  );
}

/** The actors and actions seen so far (kept while filters change, so the choices do not vanish). */
function useFacets(items: readonly AuditEntry[]): { principals: string[]; actions: string[] } {
  const seen = useRef({ principals: new Set<string>(), actions: new Set<string>() });
  for (const e of items) {
    seen.current.principals.add(e.principal);
    seen.current.actions.add(e.action);
  }
  const principals = [...seen.current.principals].sort();
  const actions = [...seen.current.actions].sort();
  // Prefix choices (`tokens.*`) for every family with more than one action.
  const families = new Map<string, number>();
  for (const a of actions) {
    const family = a.includes('.') ? a.slice(0, a.indexOf('.')) : null;
    if (family) families.set(family, (families.get(family) ?? 0) + 1);
  }
  const prefixes = [...families].filter(([, n]) => n > 1).map(([f]) => `${f}.*`);
  return { principals, actions: [...prefixes, ...actions].sort() };
}

/** Actor and action selects; the server filters (exact actor; exact action or a `family.*` prefix). */
export function AuditFilters({
  filter,
  facets,
  nameOf = (p) => p,
  onChange,
}: {
  filter: Pick<AuditFilter, 'principal' | 'action'>;
  facets: { principals: readonly string[]; actions: readonly string[] };
  /** How an actor is shown (an email for `user:<id>`); the filter still uses the label itself. */
  nameOf?: (principal: string) => string;
  onChange: (filter: { principal?: string; action?: string }) => void;
}) {
  const option = (current: string | undefined, values: readonly string[]) =>
    current && !values.includes(current) ? [current, ...values] : values;
  const set = (key: 'principal' | 'action', value: string) => {
    const next = { ...filter, [key]: value || undefined };
    if (!next.principal) delete next.principal;
    if (!next.action) delete next.action;
    onChange(next);
  };
  return (
    <fieldset className="toolbar audit-filters" aria-label="Audit filters">
      <label className="picker">
        <span className="field-label">Actor</span>
        <select value={filter.principal ?? ''} onChange={(e) => set('principal', e.target.value)}>
          <option value="">Anyone</option>
          {option(filter.principal, facets.principals).map((p) => (
            <option key={p} value={p}>
              {nameOf(p) === p ? p : `${nameOf(p)} (${p})`}
            </option>
          ))}
        </select>
      </label>
      <label className="picker">
        <span className="field-label">Action</span>
        <select value={filter.action ?? ''} onChange={(e) => set('action', e.target.value)}>
          <option value="">Any action</option>
          {option(filter.action, facets.actions).map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      {(filter.principal || filter.action) && (
        <button type="button" className="button button-ghost button-small" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </fieldset>
  );
}

function AuditTable({
  entries,
  nameOf,
  onActor,
}: {
  entries: readonly AuditEntry[];
  nameOf: (principal: string) => string;
  onActor: (principal: string) => void;
}) {
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
                <td className="small">
                  <button
                    type="button"
                    className="link-button mono"
                    title={`${e.principal}: show only this actor`}
                    onClick={() => onActor(e.principal)}
                  >
                    {nameOf(e.principal)}
                  </button>
                </td>
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
