import type { Tracer } from '@opentelemetry/api';
import type { ResolverRuntime } from '@slate/engine';
import { childSpan } from './tracing.ts';

/** Name of the span of one resolver call (all its rows). */
export const RESOLVER_SPAN = 'slate.resolver';

/**
 * Wraps a resolver runtime so that each call made under a recorded span is a `slate.resolver` child span:
 * the resolver, its rows, and how many rows failed or timed out (the span's status is an error when any
 * did). The worker runtime adds a `slate.resolver.worker` child for the time spent in the worker thread.
 *
 * @example
 * const runtime = tracedRuntime(await createWorkerRuntime({ bundlePath, tracer }), tracer);
 */
export function tracedRuntime(runtime: ResolverRuntime, tracer: Tracer): ResolverRuntime {
  return {
    call: (request, signal) =>
      childSpan(
        tracer,
        RESOLVER_SPAN,
        { 'slate.resolver.fqn': request.resolver, 'slate.resolver.rows': request.rows.length },
        () => runtime.call(request, signal),
        (span, outcomes) => {
          let failed = 0;
          let timedOut = 0;
          let message: string | undefined;
          for (const outcome of outcomes) {
            if (outcome.ok) continue;
            failed++;
            if (outcome.timedOut) timedOut++;
            message ??= `${outcome.error.kind}: ${outcome.error.message}`;
          }
          span.setAttributes({
            'slate.resolver.failed_rows': failed,
            'slate.resolver.timed_out_rows': timedOut,
          });
          if (message !== undefined) span.setStatus({ code: 2, message });
        },
      ),
    close: () => runtime.close(),
  };
}
