import { createContext, type ReactNode, useContext } from 'react';
import type { Me } from './api/index.ts';

const MeContext = createContext<Me | null>(null);

/** The signed-in user and their team roles, for pages that show or hide what the role allows. */
export function MeProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <MeContext.Provider value={me}>{children}</MeContext.Provider>;
}

/** @throws Error when rendered outside a {@link MeProvider}. */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe() needs a <MeProvider> above it');
  return me;
}
