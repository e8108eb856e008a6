import {
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { type TracingConfig, type TracingConfigInput, TracingConfigSchema } from './tracing-config.ts';

/** Request or message headers as Node and the bus hand them over. */
export type CarrierHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The data plane's tracing: a tracer whose spans go to an OTLP collector, and the W3C trace-context
 * propagation used at the edges (HTTP headers, gRPC metadata, bus message headers).
 */
export interface Tracing {
  readonly tracer: Tracer;
  /**
   * The remote parent carried by `traceparent`/`tracestate` headers; the root context when there is none
   * or it is malformed (a bad header starts a new trace, it never fails the request).
   */
  extract(headers: CarrierHeaders): Context;
  /**
   * The `traceparent` (and `tracestate`) of the active span, when it is recorded; `undefined` otherwise, so
   * an unsampled query adds nothing to the messages it publishes.
   */
  inject(): Record<string, string> | undefined;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /** Exports what is pending, then stops exporting. */
  shutdown(): Promise<void>;
}

/** What `createTracing` may be given besides the config. */
export interface TracingOptions {
  /** `service.instance.id` (this replica) and `service.version` on the resource. */
  readonly instanceId?: string;
  readonly version?: string;
  /** Where spans go instead of the OTLP exporter the config names (a test's in-memory exporter). */
  readonly exporter?: SpanExporter;
}

const propagator = new W3CTraceContextPropagator();
let contextManager: AsyncLocalStorageContextManager | undefined;
let contextManagerInstalled = false;
/** Traced operations in flight in `runTraced`: AsyncLocalStorage is on only while there are any. */
let tracedInFlight = 0;

/**
 * Runs `work` with `active` as the active context (so the spans started below it are its children), keeping
 * AsyncLocalStorage switched on only while some traced operation is in flight. On Node 20 and 22 an
 * AsyncLocalStorage in use runs a hook for every promise the process creates (about a third more CPU per
 * query, bench/tracing.ts): switching it off when the last traced operation settles keeps the unsampled
 * queries, most of them at the 1% default, free of it. Untraced work never calls this.
 *
 * @example
 * await runTraced(trace.setSpan(parent, span), () => serve(request));
 */
export function runTraced<T>(active: Context, work: () => Promise<T>): Promise<T> {
  tracedInFlight++;
  let running: Promise<T>;
  try {
    running = context.with(active, work);
  } catch (thrown) {
    release();
    throw thrown;
  }
  return running.finally(release);
}

function release(): void {
  // Nothing traced is in flight: no continuation needs the context any more.
  if (--tracedInFlight === 0) contextManager?.disable();
}

/**
 * Creates the tracing of one process. The context manager (AsyncLocalStorage) is registered globally once,
 * as OpenTelemetry requires for spans to follow async calls; the tracer provider is not global: code that
 * traces is handed this tracer, so nothing traces by accident and a process with tracing off pays nothing.
 * Spans are exported in batches by a `BatchSpanProcessor`, whose queue is bounded (`maxQueueSize`): spans
 * past it are dropped, never held.
 *
 * @throws ZodError when `config` is not a valid `TracingConfig`.
 * @example
 * const tracing = createTracing({ endpoint: 'http://collector:4318/v1/traces' });
 * const span = tracing.tracer.startSpan('work', {}, tracing.extract(request.headers));
 */
export function createTracing(config: TracingConfigInput, options: TracingOptions = {}): Tracing {
  const settings: TracingConfig = TracingConfigSchema.parse(config);
  if (!contextManagerInstalled) {
    const manager = new AsyncLocalStorageContextManager();
    contextManagerInstalled = context.setGlobalContextManager(manager.enable());
    // Switched on by the first traced operation (`AsyncLocalStorage.run` enables itself), off after the last.
    if (contextManagerInstalled) contextManager = manager.disable();
  }
  const exporterConfig = {
    url: settings.endpoint,
    headers: settings.headers,
    timeoutMillis: settings.exportTimeoutMs,
  };
  const exporter =
    options.exporter ??
    (settings.protocol === 'http/json'
      ? new OTLPJsonTraceExporter(exporterConfig)
      : new OTLPProtoTraceExporter(exporterConfig));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      'service.name': settings.serviceName,
      ...(options.instanceId ? { 'service.instance.id': options.instanceId } : {}),
      ...(options.version ? { 'service.version': options.version } : {}),
    }),
    sampler: samplerOf(settings),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: Math.min(settings.maxExportBatchSize, settings.maxQueueSize),
        scheduledDelayMillis: settings.scheduledDelayMs,
        exportTimeoutMillis: settings.exportTimeoutMs,
      }),
    ],
  });
  const tracer = provider.getTracer('@slate/data-plane', options.version);
  return {
    tracer,
    extract(headers) {
      if (headers.traceparent === undefined) return ROOT_CONTEXT;
      return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    },
    inject() {
      const active = context.active();
      if (!trace.getSpan(active)?.isRecording()) return undefined;
      const carrier: Record<string, string> = {};
      propagator.inject(active, carrier, defaultTextMapSetter);
      return carrier;
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

function samplerOf(settings: TracingConfig): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.ratio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

/**
 * Runs `work` in a child span of the active span when that one is recorded (a sampled query); otherwise
 * runs it as is, with no span and no context switch. The span ends when `work` settles, with an error
 * status when it rejects; `onResult` may add attributes from the result.
 *
 * @example
 * const values = await childSpan(tracer, 'slate.online_store.get', { 'slate.keys': keys.length }, () => store.get(env, keys));
 */
export function childSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: () => Promise<T>,
  onResult?: (span: Span, result: T) => void,
): Promise<T> {
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) return work();
  const span = tracer.startSpan(name, { attributes }, parent);
  return context.with(trace.setSpan(parent, span), work).then(
    (result) => {
      onResult?.(span, result);
      span.end();
      return result;
    },
    (thrown: unknown) => {
      failSpan(span, thrown);
      span.end();
      throw thrown;
    },
  );
}

/** Marks a span failed by what was thrown. */
export function failSpan(span: Span, thrown: unknown): void {
  span.recordException(thrown instanceof Error ? thrown : String(thrown));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: thrown instanceof Error ? thrown.message : String(thrown),
  });
}
