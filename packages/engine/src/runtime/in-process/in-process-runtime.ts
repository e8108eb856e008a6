import type { ResolverFunction } from '@slate/sdk';
import { callResolver, withTimeout } from '../call-resolver.ts';
import type { ResolverCall, ResolverOutcome, ResolverRuntime } from '../resolver-runtime.ts';

/**
 * Calls resolver functions on the caller's thread. For tests, benchmarks of the engine itself and tools
 * that trust the code they run; a resolver that blocks the event loop blocks the process.
 */
export function createInProcessRuntime(
  functions: ReadonlyMap<string, ResolverFunction>,
  options: { secrets?: ReadonlyMap<string, string> } = {},
): ResolverRuntime {
  const secrets = options.secrets ?? new Map<string, string>();
  return {
    async call(request: ResolverCall): Promise<ResolverOutcome[]> {
      const fn = functions.get(request.resolver);
      if (!fn) {
        const error = {
          kind: 'LookupError',
          message: `resolver ${request.resolver} is not in this deployment`,
          stacktrace: '',
        };
        return request.rows.map(() => ({ ok: false, error }));
      }
      return withTimeout(
        request.rows.length,
        request.timeoutMs,
        callResolver(fn, request.rows, request.context, secrets),
      );
    },
    async close() {},
  };
}
