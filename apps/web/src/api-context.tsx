import { createContext, type ReactNode, useContext } from 'react';
import type { SlateApi } from './api/index.ts';

const ApiContext = createContext<SlateApi | null>(null);

/** Makes one `SlateApi` available to every page; tests provide one over a fake `fetch`. */
export function ApiProvider({ api, children }: { api: SlateApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

/** @throws Error when rendered outside an {@link ApiProvider}. */
export function useApi(): SlateApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi() needs an <ApiProvider> above it');
  return api;
}
