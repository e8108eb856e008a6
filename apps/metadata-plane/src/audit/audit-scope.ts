import { AsyncLocalStorage } from 'node:async_hooks';

/** The team one request acted in, as far as its permission checks tell. */
export interface AuditScope {
  teamId: string | null;
}

const storage = new AsyncLocalStorage<AuditScope>();

/**
 * Runs a request handler inside `scope`. Every scoped permission check (`assertCan`) made inside notes the
 * team it was about, so the audit entry lands in that team's log without each handler having to remember
 * to say so. The caller reads `scope.teamId` once the handler settled, whether it succeeded or threw.
 */
export function runInAuditScope<T>(scope: AuditScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** Notes the team the current request acts in (the first one noted wins). No-op outside a request. */
export function noteAuditTeam(teamId: string): void {
  const scope = storage.getStore();
  if (scope && scope.teamId === null) scope.teamId = teamId;
}
