import { randomBytes } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { SlateError } from '@slate/graph';
import { type OtlpReceiver, startOtlpReceiver } from '@slate/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTracing } from './tracing.ts';
import { tracingConfigFromEnv } from './tracing-config.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('tracingConfigFromEnv', () => {
  it('is off without an OTLP endpoint, with OTEL_SDK_DISABLED or with OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingConfigFromEnv({})).toBeUndefined();
    expect(
      tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(
      tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined();
  });

  it("defaults to the seed product's sampling, parentbased_traceidratio at 1%, over http/protobuf", () => {
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      sampler: 'parentbased_traceidratio',
      ratio: 0.01,
      serviceName: 'slate-data-plane',
    });
  });

  it('reads the signal-specific endpoint as is, the sampler, its argument, headers and resource attributes', () => {
    const config = tracingConfigFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,x-team=ml',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'dp-east',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
    });
    expect(config).toMatchObject({
      endpoint: 'https://collector.example/otlp/traces',
      protocol: 'http/json',
      headers: { 'api-key': 'a b', 'x-team': 'ml' },
      sampler: 'traceidratio',
      ratio: 0.25,
      serviceName: 'dp-east',
      resourceAttributes: { 'deployment.environment': 'prod' },
      maxQueueSize: 100,
    });
  });

  it('refuses what it cannot honour with INVALID_TRACING_CONFIG, never echoing header values', () => {
    const refused = (env: Record<string, string>) => {
      try {
        tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(SlateError);
        expect((error as SlateError).code).toBe('INVALID_TRACING_CONFIG');
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/gRPC/);
    expect(refused({ OTEL_TRACES_SAMPLER: 'sometimes' })).toMatch(/sampler/);
    expect(refused({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toMatch(/ratio/);
    expect(refused({ OTEL_EXPORTER_OTLP_HEADERS: 'secret-token-value' })).not.toContain('secret-token-value');
  });
});

describe('createTracing', () => {
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('follows the parent: a sampled traceparent is exported at ratio 0, an unsampled one and new roots are not', async () => {
    receiver = await startOtlpReceiver();
    const tracing = createTracing({ endpoint: receiver.url, protocol: 'http/json', ratio: 0 });
    const sampledTrace = hex(16);
    const parentSpan = hex(8);
    const unsampledTrace = hex(16);
    const sampled = tracing.tracer.startSpan(
      'sampled',
      {},
      tracing.extract({ traceparent: `00-${sampledTrace}-${parentSpan}-01` }),
    );
    const unsampled = tracing.tracer.startSpan(
      'unsampled',
      {},
      tracing.extract({ traceparent: `00-${unsampledTrace}-${hex(8)}-00` }),
    );
    const root = tracing.tracer.startSpan('root', {}, tracing.extract({}));
    const garbage = tracing.tracer.startSpan('garbage', {}, tracing.extract({ traceparent: 'not-a-trace' }));
    expect([sampled, unsampled, root, garbage].map((s) => s.isRecording())).toEqual([
      true,
      false,
      false,
      false,
    ]);
    // A span that is not recorded still has a trace id (include_meta returns it): the parent's, or a new one.
    expect(unsampled.spanContext().traceId).toBe(unsampledTrace);
    expect(root.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const span of [sampled, unsampled, root, garbage]) span.end();
    await tracing.forceFlush();
    const spans = receiver.spans();
    expect(spans.map((s) => [s.name, s.traceId, s.parentSpanId])).toEqual([
      ['sampled', sampledTrace, parentSpan],
    ]);
    expect(spans[0]!.service).toBe('slate-data-plane');
    await tracing.shutdown();
  });

  it('injects the active recorded span as a traceparent, and nothing for an unsampled one', async () => {
    receiver = await startOtlpReceiver();
    const tracing = createTracing({ endpoint: receiver.url, protocol: 'http/json', sampler: 'always_on' });
    const span = tracing.tracer.startSpan('publishing');
    const headers = context.with(trace.setSpan(context.active(), span), () => tracing.inject());
    const { traceId, spanId } = span.spanContext();
    expect(headers).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    span.end();
    const off = createTracing({ endpoint: receiver.url, sampler: 'always_off' });
    const dropped = off.tracer.startSpan('not recorded');
    expect(context.with(trace.setSpan(context.active(), dropped), () => off.inject())).toBeUndefined();
    expect(tracing.inject()).toBeUndefined();
    await tracing.shutdown();
    await off.shutdown();
  });

  it('exports OTLP over http/protobuf by default, with the configured headers', async () => {
    receiver = await startOtlpReceiver();
    const tracing = createTracing({
      endpoint: receiver.url,
      sampler: 'always_on',
      headers: { 'x-collector-key': 'k1' },
    });
    const span = tracing.tracer.startSpan('over protobuf');
    span.end();
    await tracing.forceFlush();
    expect(receiver.exports).toHaveLength(1);
    const [received] = receiver.exports;
    expect(received!.path).toBe('/v1/traces');
    expect(received!.headers['content-type']).toBe('application/x-protobuf');
    expect(received!.headers['x-collector-key']).toBe('k1');
    // Protobuf carries ids as raw bytes and the name as UTF-8: both are in the body as written.
    expect(received!.body.includes(Buffer.from(span.spanContext().traceId, 'hex'))).toBe(true);
    expect(received!.body.includes(Buffer.from(span.spanContext().spanId, 'hex'))).toBe(true);
    expect(received!.body.includes(Buffer.from('over protobuf'))).toBe(true);
    await tracing.shutdown();
  });
});
