/**
 * Tracing (issue 17 item 6): a query carrying the client's W3C `traceparent` (HTTP header, gRPC metadata)
 * through a real data plane — registered with a metadata plane, resolvers in a worker thread, background
 * persistence on the embedded bus — reaches an OTLP receiver started here as a span tree: the query, its
 * plan, each resolver call with its time in the worker thread, the online-store calls, and the persistence
 * worker's batch continuing the trace from the result-bus message's headers. Sampling is
 * `parentbased_traceidratio` at ratio 0: only queries whose client sampled them are exported.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createTracing, type Tracing } from '@slate/data-plane';
import { createBus, createLocalObjectStore, createParquetOfflineStore } from '@slate/stores';
import { freePort, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from './forwarding/forwarding-repo.ts';
import { deployRepository, type InProcessPlanes, startInProcessPlanes } from './support/in-process-planes.ts';

const REGISTRATION = 'registration-token-for-tracing';
const protoDir = fileURLToPath(new URL('../packages/grpc-api/proto', import.meta.url));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

type Loose = ReturnType<typeof JSON.parse>;

describe('tracing', () => {
  let dir: string;
  let planes: InProcessPlanes;
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let token: string;
  let grpcPort: number;
  const closers: (() => Promise<void>)[] = [];

  const query = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${planes.engine}/v1/query/online`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Loose;
  };

  /** Flushes the data plane's spans until `done` holds of what the receiver has (the persistence worker is async). */
  const spansUntil = async (done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await tracing.forceFlush();
      const spans = receiver.spans();
      if (done(spans)) return spans;
      if (Date.now() > deadline)
        throw new Error(`spans never arrived: ${spans.map((s) => s.name).join(', ') || 'none'}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-tracing-'));
    receiver = await startOtlpReceiver();
    // Batches are sent on `forceFlush`: a long schedule keeps the test's flushes the only exports.
    tracing = createTracing({
      endpoint: receiver.url,
      protocol: 'http/json',
      sampler: 'parentbased_traceidratio',
      ratio: 0,
      scheduledDelayMs: 60_000,
      serviceName: 'dp-tracing-test',
    });
    const bus = createBus({ type: 'log', root: join(dir, 'bus') });
    const offlineObjects = createLocalObjectStore({ root: join(dir, 'offline-objects') });
    const offlineStore = createParquetOfflineStore({
      objectStore: offlineObjects,
      stagingDir: join(dir, 'offline-staging'),
    });
    for (const store of [bus, offlineObjects, offlineStore]) await store.init();
    closers.push(async () => {
      for (const store of [offlineStore, bus, offlineObjects]) await store.close();
    });
    grpcPort = await freePort();
    planes = await startInProcessPlanes({
      dir,
      registrationToken: REGISTRATION,
      environments: [{ id: 'dev', name: 'Development' }],
      dataPlaneName: 'traced',
      dataPlaneGrpcPort: grpcPort,
      dataPlaneExtra: { tracing, offline: { bus, offlineStore } },
    });
    const created = await planes.metadata.services.createServiceToken({
      environmentId: 'dev',
      name: 'tracing',
      permissions: ['deploy.create', 'deploy.read', 'query.online'],
    });
    const exchanged = await fetch(`${planes.api}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: created.clientId,
        client_secret: created.clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    token = ((await exchanged.json()) as { access_token: string }).access_token;
    const deployed = await deployRepository(
      planes.api,
      token,
      new URL('./forwarding/forwarding-repo.ts', import.meta.url),
      repo,
    );
    expect(deployed.status).toBe(201);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${planes.engine}/v1/query/online`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { 'account.id': 1 }, outputs: ['account.doubled'] }),
      });
      if (res.status === 200 && ((await res.json()) as Loose).data?.[0]?.value === 2) break;
      if (Date.now() > deadline) throw new Error('the deployment was never served');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Two planes start here (the metadata plane migrates PGlite): minutes on a loaded machine.
  }, 240_000);

  afterAll(async () => {
    await planes?.close();
    await tracing?.shutdown();
    for (const close of closers) await close();
    await receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exports the span tree of a query the client sampled: query, plan, resolvers (in the worker), online store, persistence', async () => {
    // Not sampled by the client, and the ratio is 0: answered with a trace id, never exported.
    const unsampledTrace = hex(16);
    const unsampled = await query(
      { inputs: { 'account.id': 3 }, outputs: ['account.doubled'], include_meta: true },
      { traceparent: `00-${unsampledTrace}-${hex(8)}-00` },
    );
    expect(unsampled.meta.trace_id).toBe(unsampledTrace);
    const untraced = await query({
      inputs: { 'account.id': 4 },
      outputs: ['account.doubled'],
      include_meta: true,
    });
    expect(untraced.meta.trace_id).toMatch(/^[0-9a-f]{32}$/);

    const traceId = hex(16);
    const clientSpan = hex(8);
    const answer = await query(
      { inputs: { 'account.id': 7 }, outputs: ['account.doubled', 'account.note'], include_meta: true },
      { traceparent: `00-${traceId}-${clientSpan}-01` },
    );
    expect(answer.data.map((d: Loose) => [d.field, d.value])).toEqual([
      ['account.doubled', 14],
      ['account.note', 'computed-7'],
    ]);
    expect(answer.meta.trace_id).toBe(traceId);

    const spans = await spansUntil((all) =>
      all.some((s) => s.traceId === traceId && s.name === 'slate.persistence.batch'),
    );
    expect(spans.some((s) => s.traceId === unsampledTrace || s.traceId === untraced.meta.trace_id)).toBe(
      false,
    );
    const ours = spans.filter((s) => s.traceId === traceId);
    expect(new Set(ours.map((s) => s.service))).toEqual(new Set(['dp-tracing-test']));
    const named = (name: string) => ours.filter((s) => s.name === name);

    const [root] = named('slate.query');
    expect(named('slate.query')).toHaveLength(1);
    expect(root!.parentSpanId).toBe(clientSpan);
    expect(root!.kind).toBe(2); // SERVER
    expect(root!.attributes).toMatchObject({
      'slate.environment.id': 'dev',
      'url.path': '/v1/query/online',
    });

    const [plan] = named('slate.plan');
    expect(plan!.parentSpanId).toBe(root!.spanId);
    expect(plan!.attributes).toMatchObject({ 'slate.plan.inputs': 1, 'slate.plan.outputs': 2 });

    const resolvers = named('slate.resolver');
    expect(resolvers.map((s) => String(s.attributes['slate.resolver.fqn'])).sort()).toEqual([
      expect.stringMatching(/doubled$/),
      expect.stringMatching(/note$/),
    ]);
    for (const span of resolvers) {
      expect(span.parentSpanId).toBe(root!.spanId);
      expect(span.attributes).toMatchObject({ 'slate.resolver.rows': 1, 'slate.resolver.failed_rows': 0 });
    }
    // Each resolver call's time in its worker thread, recorded from the timing the worker sent back.
    const workers = named('slate.resolver.worker');
    expect(workers).toHaveLength(2);
    for (const span of workers) {
      const parent = resolvers.find((r) => r.spanId === span.parentSpanId);
      expect(parent).toBeDefined();
      expect(span.attributes['slate.resolver.fqn']).toBe(parent!.attributes['slate.resolver.fqn']);
      expect(span.attributes['thread.id']).toBeGreaterThan(0); // not the main thread (0)
      expect(BigInt(span.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(parent!.startTimeUnixNano));
      expect(BigInt(span.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(parent!.endTimeUnixNano));
    }

    // `account.note` is cached (max staleness infinity): read from the online store (a miss), written back.
    const [get] = named('slate.online_store.get');
    expect(get!.parentSpanId).toBe(root!.spanId);
    expect(get!.attributes).toMatchObject({ 'slate.environment.id': 'dev', 'slate.online_store.hits': 0 });
    const [set] = named('slate.online_store.set');
    expect(set!.parentSpanId).toBe(root!.spanId);
    expect(set!.attributes['slate.online_store.keys']).toBe(1);

    // The persistence worker continues the trace from the result-bus message's traceparent header.
    const [batch] = named('slate.persistence.batch');
    expect(batch!.kind).toBe(5); // CONSUMER
    expect(batch!.parentSpanId).toBe(root!.spanId);
    expect(batch!.links).toContainEqual({ traceId, spanId: root!.spanId });
    expect(batch!.attributes['messaging.destination.name']).toBe('result-bus');
    // Its writers' offline-store commits are its children.
    const offline = ours.filter((s) => s.name.startsWith('slate.offline_store.'));
    expect(offline.length).toBeGreaterThan(0);
    for (const span of offline) expect(span.parentSpanId).toBe(batch!.spanId);
  });

  it('continues a traceparent sent in gRPC metadata, and returns the trace id in response_meta', async () => {
    const definition = protoLoader.loadSync('chalk/engine/v1/query_server.proto', {
      includeDirs: [protoDir],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const QueryService = (grpc.loadPackageDefinition(definition) as Loose).chalk.engine.v1.QueryService;
    const client = new QueryService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      const traceId = hex(16);
      const clientSpan = hex(8);
      const meta = new grpc.Metadata();
      meta.set('authorization', `Bearer ${token}`);
      meta.set('traceparent', `00-${traceId}-${clientSpan}-01`);
      const response: Loose = await new Promise((resolve, reject) =>
        client.OnlineQuery(
          {
            inputs: { 'account.id': { numberValue: 5 } },
            outputs: [{ feature_fqn: 'account.doubled' }],
            response_options: { include_meta: true },
          },
          meta,
          (error: Error | null, reply: Loose) => (error ? reject(error) : resolve(reply)),
        ),
      );
      expect(response.data.results[0].value.numberValue).toBe(10);
      expect(response.response_meta.additional_metadata.trace_id.stringValue).toBe(traceId);
      const spans = await spansUntil((all) =>
        all.some((s) => s.traceId === traceId && s.name === 'slate.resolver.worker'),
      );
      const ours = spans.filter((s) => s.traceId === traceId);
      const root = ours.find((s) => s.name === 'slate.query')!;
      expect(root.parentSpanId).toBe(clientSpan);
      expect(ours.find((s) => s.name === 'slate.plan')!.parentSpanId).toBe(root.spanId);
      expect(ours.find((s) => s.name === 'slate.resolver')!.parentSpanId).toBe(root.spanId);
    } finally {
      client.close();
    }
  });
});
