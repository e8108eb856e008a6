import { context, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { Planner } from '../plan/planner.ts';

/** Name of the planning span (a child of the query's span). */
export const PLAN_SPAN = 'slate.plan';

/**
 * Wraps a planner so that each planning, inside a recorded span (a sampled query), is a `slate.plan` child
 * span with the shape's size, the plan's hash, step count, request-level errors and whether the plan came
 * from the cache. Outside a recorded span it costs one context lookup: an unsampled query starts no span.
 *
 * @example
 * const planner = tracedPlanner(createPlanner(graph, { environment: 'dev' }), trace.getTracer('slate'));
 */
export function tracedPlanner(planner: Planner, tracer: Tracer): Planner {
  return {
    get index() {
      return planner.index;
    },
    get plansBuilt() {
      return planner.plansBuilt;
    },
    plan(shape) {
      if (!trace.getSpan(context.active())?.isRecording()) return planner.plan(shape);
      const span = tracer.startSpan(PLAN_SPAN, {
        attributes: {
          'slate.plan.inputs': shape.inputs.length,
          'slate.plan.outputs': shape.outputs.length,
          'slate.plan.kind': shape.kind,
        },
      });
      try {
        const planned = planner.plan(shape);
        span.setAttributes({
          'slate.plan.cache_hit': planned.cacheHit,
          'slate.plan.hash': planned.plan.hash,
          'slate.plan.steps': planned.plan.steps.length,
          'slate.plan.errors': planned.plan.errors.length,
        });
        if (planned.plan.errors.length > 0)
          span.setStatus({ code: SpanStatusCode.ERROR, message: planned.plan.errors[0]!.message });
        return planned;
      } catch (thrown) {
        span.recordException(thrown instanceof Error ? thrown : String(thrown));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw thrown;
      } finally {
        span.end();
      }
    },
  };
}
