import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';
import type { Page } from '../api/index.ts';

export interface PagedList<T> {
  readonly status: 'loading' | 'error' | 'ready';
  readonly items: readonly T[];
  readonly error: unknown;
  readonly hasMore: boolean;
  readonly loadingMore: boolean;
  /** Appends the next page. */
  loadMore(): void;
  /** Re-reads the first page, keeping the current items on screen until it arrives. */
  reload(): void;
}

/**
 * A cursor-paginated list with "Load more". `deps` restart it from the first page.
 *
 * @example
 * const tokens = usePagedList((page, signal) => api.tokens(envId, { ...page, limit: 50 }, signal), [api, envId]);
 */
export function usePagedList<T>(
  loadPage: (page: { cursor: string | null }, signal: AbortSignal) => Promise<Page<T>>,
  deps: DependencyList,
): PagedList<T> {
  const [items, setItems] = useState<readonly T[]>([]);
  const [status, setStatus] = useState<PagedList<T>['status']>('loading');
  const [error, setError] = useState<unknown>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [version, setVersion] = useState(0);
  const load = useRef(loadPage);
  load.current = loadPage;
  const controller = useRef<AbortController | null>(null);

  useEffect(() => {
    const c = new AbortController();
    controller.current = c;
    if (version === 0) setStatus('loading');
    load.current({ cursor: null }, c.signal).then(
      (page) => {
        if (c.signal.aborted) return;
        setItems(page.items);
        setCursor(page.next_cursor);
        setStatus('ready');
        setError(null);
      },
      (e: unknown) => {
        if (c.signal.aborted) return;
        setError(e);
        setStatus('error');
      },
    );
    return () => c.abort();
  }, [...deps, version]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore) return;
    const c = controller.current ?? new AbortController();
    setLoadingMore(true);
    load.current({ cursor }, c.signal).then(
      (page) => {
        if (c.signal.aborted) return;
        setItems((prev) => [...prev, ...page.items]);
        setCursor(page.next_cursor);
        setLoadingMore(false);
      },
      (e: unknown) => {
        if (c.signal.aborted) return;
        setError(e);
        setLoadingMore(false);
      },
    );
  }, [cursor, loadingMore]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { status, items, error, hasMore: cursor !== null, loadingMore, loadMore, reload };
}
