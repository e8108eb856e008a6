import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLocalObjectStore, createLogBus, createParquetOfflineStore } from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { tracedOfflineStore } from '../observability/tracing/traced-stores.ts';
import { createTracing } from '../observability/tracing/tracing.ts';
import { createPersistenceWorker } from './persistence-worker.ts';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';
import { createOfflineWriter } from './writers/offline-writer.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-persistence-tracing-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const T = Date.UTC(2024, 2, 1);

const message = (i: number): ResultMessageInput => ({
  version: 1,
  environment: 'prod',
  operationId: `op-${i}`,
  operationKind: 'ONLINE_QUERY',
  deploymentId: 'dep-1',
  insertedAt: T + i,
  values: [{ feature: 'user.score', pkey: String(i), value: i, observedAt: T + i, resolver: 'get_score' }],
  writeOnline: false,
  writeOffline: true,
});

describe('persistence worker tracing', () => {
  it("continues the first traced message's trace in the batch span, links them all, and gives the others a span in their own trace", async () => {
    const bus = createLogBus({ root: join(root, 'bus'), sync: false });
    const objects = createLocalObjectStore({ root: join(root, 'objects') });
    const offline = createParquetOfflineStore({ objectStore: objects, threads: 1 });
    for (const store of [bus, objects, offline]) await store.init();
    const exporter = new InMemorySpanExporter();
    // Ratio 0: only what the messages' headers say was sampled is recorded.
    const tracing = createTracing({ endpoint: 'http://127.0.0.1:9/v1/traces', ratio: 0 }, { exporter });
    const [traceA, spanA, traceB, spanB, traceC] = [hex(16), hex(8), hex(16), hex(8), hex(16)];
    await bus.publish(RESULT_BUS_TOPIC, [
      {
        key: 'prod',
        value: JSON.stringify(message(1)),
        id: 'op-1',
        headers: { traceparent: `00-${traceA}-${spanA}-01` },
      },
      { key: 'prod', value: JSON.stringify(message(2)), id: 'op-2' },
      {
        key: 'prod',
        value: JSON.stringify(message(3)),
        id: 'op-3',
        headers: { traceparent: `00-${traceB}-${spanB}-01` },
      },
      // Sampled out by its client: linked from the batch, but no span of its own.
      {
        key: 'prod',
        value: JSON.stringify(message(4)),
        id: 'op-4',
        headers: { traceparent: `00-${traceC}-${hex(8)}-00` },
      },
    ]);
    const worker = createPersistenceWorker({
      bus,
      writers: [createOfflineWriter(tracedOfflineStore(offline, tracing.tracer))],
      lingerMs: 50,
      tracing,
    });
    expect(await worker.runOnce()).toBe(4);
    await worker.stop();
    await tracing.forceFlush();
    const spans = exporter.getFinishedSpans();

    const batch = spans.find((s) => s.name === 'slate.persistence.batch')!;
    expect(batch.spanContext().traceId).toBe(traceA);
    expect(batch.parentSpanContext?.spanId).toBe(spanA);
    expect(batch.attributes['messaging.batch.message_count']).toBe(4);
    expect(batch.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      [traceA, spanA],
      [traceB, spanB],
      [traceC, expect.any(String)],
    ]);

    const others = spans.filter((s) => s.name === 'slate.persistence.message');
    expect(others.map((s) => [s.spanContext().traceId, s.parentSpanContext?.spanId])).toEqual([
      [traceB, spanB],
    ]);
    expect(others[0]!.attributes['messaging.message.id']).toBe('op-3');
    expect(others[0]!.links.map((l) => l.context.spanId)).toEqual([batch.spanContext().spanId]);

    // The writers run in the batch span's context: the offline commit is its child.
    const write = spans.find((s) => s.name === 'slate.offline_store.write')!;
    expect(write.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
    expect(write.attributes['slate.offline_store.observations']).toBe(4);
    expect(spans.some((s) => s.spanContext().traceId === traceC)).toBe(false);

    await tracing.shutdown();
    for (const store of [offline, objects, bus]) await store.close();
  });

  it('records nothing for a batch of untraced messages at ratio 0', async () => {
    const bus = createLogBus({ root: join(root, 'bus-untraced'), sync: false });
    await bus.init();
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ endpoint: 'http://127.0.0.1:9/v1/traces', ratio: 0 }, { exporter });
    await bus.publish(RESULT_BUS_TOPIC, [{ key: 'prod', value: JSON.stringify(message(1)), id: 'op-1' }]);
    let written = 0;
    const worker = createPersistenceWorker({
      bus,
      writers: [
        {
          name: 'count',
          write: async (batch) => {
            written += batch.length;
          },
        },
      ],
      lingerMs: 50,
      tracing,
    });
    expect(await worker.runOnce()).toBe(1);
    await worker.stop();
    await tracing.forceFlush();
    expect(written).toBe(1);
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
    await bus.close();
  });
});
