import { type DependencyList, useCallback, useEffect, useState } from 'react';

/** What a page renders while data loads: exactly one of loading, error or the data. */
export type Resource<T> =
  | { readonly status: 'loading'; readonly data?: undefined; readonly error?: undefined }
  | { readonly status: 'error'; readonly data?: undefined; readonly error: unknown }
  | { readonly status: 'ready'; readonly data: T; readonly error?: undefined };

/**
 * Loads data for a component and reloads it when `deps` change or `reload()` is called. A reload keeps
 * showing the previous data (no flash of the loading state); a stale answer is dropped via its
 * `AbortSignal`.
 *
 * @example
 * const [envs, reload] = useResource((signal) => api.environments({}, signal), [api]);
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList,
): [Resource<T>, () => void] {
  const [state, setState] = useState<Resource<T>>({ status: 'loading' });
  const [version, setVersion] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `deps` are the caller's dependencies of `load`
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => (previous.status === 'ready' && version > 0 ? previous : { status: 'loading' }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: 'ready', data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', error });
      },
    );
    return () => controller.abort();
  }, [...deps, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return [state, reload];
}
