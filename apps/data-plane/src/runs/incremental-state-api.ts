import { SlateError } from '@slate/graph';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { IncrementalStateRequestSchema } from './run-record.ts';
import type { RunService } from './run-service.ts';
import type { IncrementalState, RunStore } from './run-store.ts';

/**
 * The incremental-state part of the run service (`/v1/runs/incremental/{resolver}`, `slate runs
 * incremental`): read, move and drop a resolver's high-water mark, for resolvers of the active deployment
 * with incremental settings only.
 *
 * @example
 * const api = createIncrementalStateApi(served, store);
 * await api.setIncrementalState('env-1', 'users_feed', { high_water: '2026-01-01T00:00:00Z' });
 */
export function createIncrementalStateApi(
  served: ServedEnvironments,
  store: RunStore,
): Pick<RunService, 'incrementalState' | 'setIncrementalState' | 'dropIncrementalState'> {
  /** The active deployment's resolver, which must be incremental. */
  const incrementalSpec = (environment: string, fqn: string) => {
    const deployment = served.get(environment)?.deployment;
    if (!deployment)
      throw new SlateError(
        'not_found',
        'ENVIRONMENT_NOT_FOUND',
        `environment ${environment} has no active deployment here`,
      );
    const spec = deployment.engine.graph.resolvers.find((resolver) => resolver.fqn === fqn);
    if (!spec)
      throw new SlateError(
        'not_found',
        'RESOLVER_NOT_FOUND',
        `resolver ${fqn} is not in the active deployment ${deployment.id}`,
      );
    if (!spec.sql?.incremental)
      throw new SlateError('input', 'NOT_INCREMENTAL', `resolver ${fqn} has no incremental settings`);
    return spec;
  };
  return {
    async incrementalState(environment, fqn) {
      incrementalSpec(environment, fqn);
      return store.incrementalState(environment, fqn);
    },
    async setIncrementalState(environment, fqn, input) {
      incrementalSpec(environment, fqn);
      const request = IncrementalStateRequestSchema.parse(input);
      const current = await store.incrementalState(environment, fqn);
      const next: IncrementalState = {
        high_water:
          request.high_water === undefined
            ? current.high_water
            : request.high_water === null
              ? null
              : typeof request.high_water === 'number'
                ? JSON.stringify(request.high_water)
                : new Date(request.high_water).toISOString(),
        last_execution_at:
          request.last_execution_at === undefined
            ? current.last_execution_at
            : request.last_execution_at === null
              ? null
              : new Date(request.last_execution_at).toISOString(),
      };
      await store.setIncrementalState(environment, fqn, next);
      return next;
    },
    async dropIncrementalState(environment, fqn) {
      incrementalSpec(environment, fqn);
      await store.dropIncrementalState(environment, fqn);
    },
  };
}
