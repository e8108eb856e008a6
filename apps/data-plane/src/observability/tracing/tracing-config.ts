import { SlateError } from '@slate/graph';
import { z } from 'zod';

/** The samplers of the OpenTelemetry specification's `OTEL_TRACES_SAMPLER`. */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

/**
 * Where and how spans are exported. Sampling follows the seed product: `parentbased_traceidratio` at 1%, so
 * a client that sends a sampled `traceparent` is always traced and other queries at the ratio.
 */
export const TracingConfigSchema = z.object({
  /** The OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`. */
  endpoint: z.url({ protocol: /^https?$/ }),
  /** `http/protobuf` (the OTLP default) or `http/json`. */
  protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
  /** Headers sent with each export (an API key, say): never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  sampler: z.enum(TRACE_SAMPLERS).default('parentbased_traceidratio'),
  /** The ratio of the `traceidratio` samplers. */
  ratio: z.number().min(0).max(1).default(0.01),
  serviceName: z.string().min(1).default('slate-data-plane'),
  /** More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`), e.g. `deployment.environment`. */
  resourceAttributes: z.record(z.string(), z.string()).default({}),
  /** How long one export may take (ms). */
  exportTimeoutMs: z.number().int().positive().default(10_000),
  /** Spans waiting for export; past it, new spans are dropped (never memory). */
  maxQueueSize: z.number().int().positive().default(2_048),
  maxExportBatchSize: z.number().int().positive().default(512),
  /** How long spans wait before a batch goes (ms). */
  scheduledDelayMs: z.number().int().nonnegative().default(5_000),
});
export type TracingConfig = z.infer<typeof TracingConfigSchema>;
export type TracingConfigInput = z.input<typeof TracingConfigSchema>;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the OpenTelemetry SDK's standard variables: tracing is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended) is set, unless `OTEL_SDK_DISABLED=true`
 * or `OTEL_TRACES_EXPORTER=none`. Also read: `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL`, `_HEADERS` (`k=v,k2=v2`,
 * values URL-encoded), `_TIMEOUT`; `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`; `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`,
 * `OTEL_BSP_SCHEDULE_DELAY`.
 *
 * @returns the config, or `undefined` when tracing is off.
 * @throws SlateError `INVALID_TRACING_CONFIG` (kind `input`) for a value the data plane cannot use: the `grpc`
 * protocol (only OTLP over HTTP is exported), an unknown sampler, a ratio outside 0..1, a bad URL.
 * @example
 * const tracing = tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
 * // { endpoint: 'http://collector:4318/v1/traces', sampler: 'parentbased_traceidratio', ratio: 0.01, ... }
 */
export function tracingConfigFromEnv(env: Env): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none') || !exporters.includes('otlp')) return undefined;
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!signal && !base) return undefined;
  const endpoint = signal || `${base!.replace(/\/+$/, '')}/v1/traces`;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol === 'grpc')
    throw invalid(
      'OTLP over gRPC is not exported: set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json',
    );
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || undefined;
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = ratioText ? Number(ratioText) : undefined;
  const timeout = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT;
  const input: TracingConfigInput = {
    endpoint,
    protocol: (protocol || undefined) as TracingConfigInput['protocol'],
    headers: {
      ...keyValues(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS'),
      ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    },
    sampler: sampler as TraceSampler | undefined,
    ratio,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined,
    resourceAttributes: keyValues(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES'),
    exportTimeoutMs: integer(timeout),
    maxQueueSize: integer(env.OTEL_BSP_MAX_QUEUE_SIZE),
    maxExportBatchSize: integer(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
    scheduledDelayMs: integer(env.OTEL_BSP_SCHEDULE_DELAY),
  };
  const parsed = TracingConfigSchema.safeParse(input);
  if (!parsed.success) {
    // The issue's path names the setting; its value is not echoed (headers may hold credentials).
    const issue = parsed.error.issues[0]!;
    throw invalid(`tracing setting '${issue.path.join('.')}' is invalid: ${issue.message}`);
  }
  return parsed.data;
}

/** `k=v,k2=v2` with URL-encoded values (the W3C baggage form the OTel variables use). */
function keyValues(text: string | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text?.trim()) return out;
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    const key = at < 0 ? '' : pair.slice(0, at).trim();
    if (!key) throw invalid(`${name} holds an entry that is not key=value`);
    try {
      out[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw invalid(`${name} holds a value that is not URL-encoded (key '${key}')`);
    }
  }
  return out;
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return Number(text);
}

function invalid(message: string): SlateError {
  return new SlateError('input', 'INVALID_TRACING_CONFIG', message);
}
