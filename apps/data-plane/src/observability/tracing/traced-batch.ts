import {
  type Context,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { BusMessage } from '@slate/stores';
import { failSpan, type Tracing } from './tracing.ts';

/** Name of the span of one persistence batch (its writers' store calls are its children). */
export const PERSISTENCE_BATCH_SPAN = 'slate.persistence.batch';
/** Name of the span continuing, in the persistence worker, the trace of a message other than the batch's first. */
export const PERSISTENCE_MESSAGE_SPAN = 'slate.persistence.message';

/** Links kept on a batch span (the SDK's default span limit). */
const MAX_LINKS = 128;

/** The spans of a batch being processed. */
export interface BatchSpans {
  /** The context the writers run in (the batch span's), so their store calls are its children. */
  readonly context: Context;
  /** Ends every span of the batch, failed when `error` is given. */
  end(error?: unknown): void;
}

/**
 * Starts the spans of one persistence batch from the trace context its messages carry in their headers
 * (`traceparent`, written by the publisher of a traced query). The batch span continues the trace of the
 * first traced message (so that trace shows where its values were persisted) and links every traced
 * message (up to 128), as OpenTelemetry's messaging conventions do for a batch; each other traced message
 * gets a `slate.persistence.message` span in its own trace, linked to the batch. A batch of untraced
 * messages is a root span, sampled at the configured ratio. Returns `undefined` when nothing is recorded.
 *
 * @example
 * const spans = startBatchSpans(tracing, messages, 'result-bus');
 * await context.with(spans?.context ?? context.active(), () => writeAll(batch));
 * spans?.end();
 */
export function startBatchSpans(
  tracing: Pick<Tracing, 'tracer' | 'extract'>,
  messages: readonly BusMessage[],
  topic: string,
): BatchSpans | undefined {
  const traced: { readonly message: BusMessage; readonly context: Context }[] = [];
  const links: Link[] = [];
  for (const message of messages) {
    if (message.headers.traceparent === undefined) continue;
    const parent = tracing.extract(message.headers);
    const spanContext = trace.getSpanContext(parent);
    if (!spanContext || !isSpanContextValid(spanContext)) continue;
    traced.push({ message, context: parent });
    if (links.length < MAX_LINKS) links.push({ context: spanContext });
  }
  const attributes = {
    'messaging.system': 'slate',
    'messaging.operation.type': 'process',
    'messaging.destination.name': topic,
    'messaging.batch.message_count': messages.length,
  };
  const batch = tracing.tracer.startSpan(
    PERSISTENCE_BATCH_SPAN,
    { kind: SpanKind.CONSUMER, links, attributes },
    traced[0]?.context ?? ROOT_CONTEXT,
  );
  const batchLink: Link[] = batch.isRecording() ? [{ context: batch.spanContext() }] : [];
  const others: Span[] = [];
  for (const { message, context } of traced.slice(1)) {
    const span = tracing.tracer.startSpan(
      PERSISTENCE_MESSAGE_SPAN,
      {
        kind: SpanKind.CONSUMER,
        links: batchLink,
        attributes: {
          'messaging.system': 'slate',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.message.id': message.id,
        },
      },
      context,
    );
    if (span.isRecording()) others.push(span);
  }
  if (!batch.isRecording() && others.length === 0) return undefined;
  let ended = false;
  return {
    context: batch.isRecording() ? trace.setSpan(ROOT_CONTEXT, batch) : ROOT_CONTEXT,
    end(error) {
      if (ended) return;
      ended = true;
      for (const span of [batch, ...others]) {
        if (error !== undefined) failSpan(span, error);
        span.end();
      }
    },
  };
}
