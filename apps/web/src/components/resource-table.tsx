import type { ReactNode } from 'react';
import type { PagedList } from '../hooks/use-paged-list.ts';
import type { Resource } from '../hooks/use-resource.ts';
import { ErrorState, Loading } from './states.tsx';

/** One column: its header and how a row fills its cell. */
export interface Column<T> {
  readonly header: ReactNode;
  readonly cell: (row: T) => ReactNode;
  /**
   * Classes of the header and every cell: `hide-sm` (hidden on phones), `cell-wide` (its own line on
   * phones), `nowrap`, `small`…
   */
  readonly className?: string;
}

/** A button at the end of a row (Replace, Rotate, Delete…). */
export interface RowAction<T> {
  readonly label: string;
  /** The accessible name when the label alone is ambiguous in a list (`Delete STRIPE_KEY`). */
  readonly ariaLabel?: (row: T) => string;
  readonly onClick: (row: T) => void;
  /** `danger` for destructive actions (revoke, delete, remove). */
  readonly tone?: 'danger';
  /** Rows the action does not apply to (a revoked token, yourself). */
  readonly hidden?: (row: T) => boolean;
  readonly disabled?: (row: T) => boolean;
}

/** The buttons at the end of a row; nothing when none applies. */
export function RowActions<T>({ row, actions }: { row: T; actions: readonly RowAction<T>[] }) {
  const shown = actions.filter((a) => !a.hidden?.(row));
  if (shown.length === 0) return null;
  return (
    <span className="inline-gap">
      {shown.map((a) => (
        <button
          key={a.label}
          type="button"
          className={a.tone === 'danger' ? 'button button-small button-danger-quiet' : 'button button-small'}
          aria-label={a.ariaLabel?.(row)}
          disabled={a.disabled?.(row)}
          onClick={() => a.onClick(row)}
        >
          {a.label}
        </button>
      ))}
    </span>
  );
}

/**
 * A list as the administration pages show it: a table that turns each row into a small card on phones
 * (`table-stack`), and a last column of row actions when there are any; `empty` instead of an empty table.
 *
 * @example
 * <DataTable rows={secrets} rowKey={(s) => s.name} empty="No secrets." columns={[{ header: 'Name', cell: (s) => s.name }]}
 *   actions={[{ label: 'Delete', tone: 'danger', onClick: setDeleting }]} />
 */
export function DataTable<T>({
  rows,
  rowKey,
  columns,
  actions = [],
  empty,
  rowClassName,
  trailing,
}: {
  rows: readonly T[];
  rowKey: (row: T) => string;
  columns: readonly Column<T>[];
  actions?: readonly RowAction<T>[];
  /** Shown instead of the table when there are no rows. */
  empty: ReactNode;
  rowClassName?: (row: T) => string | undefined;
  /** Extra content of the action cell, before the buttons (a "Revoked" pill). */
  trailing?: (row: T) => ReactNode;
}) {
  if (rows.length === 0) return <p className="card-empty muted">{empty}</p>;
  const hasActionColumn = actions.length > 0 || trailing !== undefined;
  return (
    <div className="table-wrap">
      <table className="table table-stack">
        <thead>
          <tr>
            {columns.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: columns are a fixed list; headers may repeat
              <th key={i} className={c.className}>
                {c.header}
              </th>
            ))}
            {hasActionColumn && (
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} className={rowClassName?.(row)}>
              {columns.map((c, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: as above
                <td key={i} className={c.className}>
                  {c.cell(row)}
                </td>
              ))}
              {hasActionColumn && (
                <td className="cell-action">
                  {trailing?.(row)}
                  <RowActions row={row} actions={actions} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What a card's list is while it loads: loading, failed (with retry), or its rows. */
export type ListState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly error: unknown; readonly retry: () => void }
  | { readonly status: 'ready'; readonly rows: readonly T[] };

/**
 * A titled card (a `region` named `label`) holding a {@link DataTable}, with the loading and error states
 * every administration list has, and an optional footer ("Load more").
 */
export function TableCard<T>({
  label,
  title,
  headerActions,
  state,
  footer,
  ...table
}: {
  /** The region's accessible name (tests and screen readers find the list by it). */
  label: string;
  title: ReactNode;
  headerActions?: ReactNode;
  state: ListState<T>;
  footer?: ReactNode;
} & Omit<Parameters<typeof DataTable<T>>[0], 'rows'>) {
  return (
    <section className="card" aria-label={label}>
      <div className="card-header">
        <h3 className="card-title">{title}</h3>
        {headerActions}
      </div>
      {state.status === 'loading' && <Loading />}
      {state.status === 'error' && <ErrorState error={state.error} onRetry={state.retry} />}
      {state.status === 'ready' && <DataTable rows={state.rows} {...table} />}
      {footer && <div className="card-footer">{footer}</div>}
    </section>
  );
}

/**
 * A {@link ListState} from a `useResource` result: `rows` picks the list out of the loaded data.
 *
 * @example
 * const [list, reload] = useResource((signal) => api.admin.secrets(envId, signal), [api, envId]);
 * <TableCard state={listState(list, reload, (data) => data.items)} … />
 */
export function listState<D, T>(
  resource: Resource<D>,
  retry: () => void,
  rows: (data: D) => readonly T[],
): ListState<T> {
  if (resource.status === 'loading') return { status: 'loading' };
  if (resource.status === 'error') return { status: 'error', error: resource.error, retry };
  return { status: 'ready', rows: rows(resource.data) };
}

/** A {@link ListState} from a `usePagedList` list (its rows so far). */
export function pagedListState<T>(list: PagedList<T>): ListState<T> {
  if (list.status === 'loading') return { status: 'loading' };
  if (list.status === 'error') return { status: 'error', error: list.error, retry: list.reload };
  return { status: 'ready', rows: list.items };
}
