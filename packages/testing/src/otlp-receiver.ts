import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/JSON export carries it (ids in hex, times in nanoseconds as strings). */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP `SpanKind`: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  /** Attributes flattened to their values. */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code?: number; readonly message?: string };
  /** The `service.name` of the resource it came with. */
  readonly service: string;
}

/** One export request as received. */
export interface ReceivedExport {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A real OTLP/HTTP collector for tests: it records every export and decodes the JSON ones into spans. */
export interface OtlpReceiver {
  /** The traces URL to export to (`http://127.0.0.1:<port>/v1/traces`). */
  readonly url: string;
  /** Every request received, protobuf ones included (their body raw). */
  readonly exports: readonly ReceivedExport[];
  /** The spans of every JSON export received so far. */
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

/**
 * Starts an OTLP/HTTP receiver on a free loopback port. It answers each export `200 {}` (a full success, as
 * a collector does), keeps the raw requests, and decodes `application/json` bodies (the OTLP/JSON encoding:
 * hex ids, `AnyValue` attributes) independently of the exporter's code.
 *
 * @example
 * const receiver = await startOtlpReceiver();
 * const tracing = createTracing({ endpoint: receiver.url, protocol: 'http/json', sampler: 'always_on' });
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exports.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(200, {
        'content-type': String(request.headers['content-type'] ?? 'application/json'),
      });
      // An empty ExportTraceServiceResponse: `{}` in JSON, zero bytes in protobuf.
      response.end(String(request.headers['content-type']).includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    exports,
    spans: () =>
      exports
        .filter((received) => String(received.headers['content-type']).includes('json'))
        .flatMap((received) => decodeJsonExport(received.body.toString('utf8'))),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

type Json = Record<string, unknown>;

function decodeJsonExport(text: string): ReceivedSpan[] {
  const body = JSON.parse(text) as Json;
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of (body.resourceSpans as Json[] | undefined) ?? []) {
    const resource = attributesOf((resourceSpans.resource as Json | undefined)?.attributes);
    for (const scopeSpans of (resourceSpans.scopeSpans as Json[] | undefined) ?? []) {
      for (const span of (scopeSpans.spans as Json[] | undefined) ?? []) {
        spans.push({
          traceId: String(span.traceId),
          spanId: String(span.spanId),
          parentSpanId: String(span.parentSpanId ?? ''),
          name: String(span.name),
          kind: Number(span.kind ?? 0),
          startTimeUnixNano: String(span.startTimeUnixNano),
          endTimeUnixNano: String(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          links: ((span.links as Json[] | undefined) ?? []).map((link) => ({
            traceId: String(link.traceId),
            spanId: String(link.spanId),
          })),
          status: (span.status as ReceivedSpan['status'] | undefined) ?? {},
          service: String(resource['service.name'] ?? ''),
        });
      }
    }
  }
  return spans;
}

function attributesOf(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of (list as Json[] | undefined) ?? [])
    out[String(entry.key)] = anyValue(entry.value as Json);
  return out;
}

function anyValue(value: Json | undefined): unknown {
  if (!value) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value)
    return (((value.arrayValue as Json).values as Json[] | undefined) ?? []).map((v) => anyValue(v));
  return null;
}
