import type { SpanContext } from '@opentelemetry/api';

/**
 * A span context as a W3C `traceparent` value (`00-<trace id>-<span id>-<flags>`), the form it crosses a
 * thread or a process boundary in.
 *
 * @example
 * traceparentOf(span.spanContext()); // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
 */
export function traceparentOf(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}
