import { SpanKind, trace } from '@opentelemetry/api';
import type { QueryGateway } from '../../gateway/query-gateway.ts';
import { failSpan, runTraced, type Tracing } from './tracing.ts';

/** Name of the span of one served request (an online query, a bulk query, an upload). */
export const QUERY_SPAN = 'slate.query';

/**
 * Wraps the gateway so that every request it serves, over HTTP or gRPC, is a `slate.query` server span that
 * continues the client's trace (`traceparent` in the HTTP headers or the gRPC metadata) and is the parent of
 * the plan, resolver and store spans made while it runs. The trace id reaches the work as `scope.headers.traceId`
 * (the `trace_id` of `include_meta`), sampled or not. An unsampled request starts no context: the spans
 * below check for a recorded parent, so they cost nothing either.
 *
 * @example
 * const gateway = tracedGateway(createQueryGateway({ served, verifier, limiter }), tracing);
 */
export function tracedGateway(gateway: QueryGateway, tracing: Tracing): QueryGateway {
  const { tracer } = tracing;
  return {
    authenticate: gateway.authenticate,
    authenticateCached: gateway.authenticateCached,
    writer: gateway.writer,
    serve(request, permission, work) {
      const parent = tracing.extract(request.headers);
      const span = tracer.startSpan(
        QUERY_SPAN,
        { kind: SpanKind.SERVER, attributes: { 'slate.permission': permission } },
        parent,
      );
      const traceId = span.spanContext().traceId;
      if (!span.isRecording())
        return gateway.serve(request, permission, (scope) =>
          work({ ...scope, headers: { ...scope.headers, traceId } }),
        );
      const path = (request as { readonly url?: unknown }).url;
      if (typeof path === 'string') span.setAttribute('url.path', path.split('?')[0]!);
      return runTraced(trace.setSpan(parent, span), () =>
        gateway.serve(request, permission, (scope) => {
          span.setAttributes({
            'slate.environment.id': scope.environment.id,
            'slate.deployment.id': scope.deployment.id,
            ...(scope.principal.subject ? { 'enduser.id': scope.principal.subject } : {}),
          });
          return work({ ...scope, headers: { ...scope.headers, traceId } });
        }),
      ).then(
        (answer) => {
          span.end();
          return answer;
        },
        (thrown: unknown) => {
          failSpan(span, thrown);
          span.end();
          throw thrown;
        },
      );
    },
  };
}
