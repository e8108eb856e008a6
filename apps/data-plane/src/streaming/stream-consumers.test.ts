import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph, features, float, int, stream, string } from '@slate/sdk';
import {
  createLocalObjectStore,
  createLogBus,
  createMemoryOnlineStore,
  createParquetOfflineStore,
  deadLetterTopic,
} from '@slate/stores';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createDataPlaneMetrics } from '../observability/data-plane-metrics.ts';
import { createPersistenceWorker } from '../persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../persistence/persistence-writers.ts';
import { createStreamConsumers } from './stream-consumers.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-streams-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const ENV = 'env-streams';

const Card = features('card', {
  id: int(),
  last_amount: float().maxStaleness('1h').etlOfflineToOnline(),
  merchant: string(),
});
const card_events = stream({
  source: { topic: 'card-events' },
  outputs: { id: Card.id, amount: Card.last_amount, merchant: Card.merchant },
  parse: ({ value }) => {
    const body = JSON.parse(value) as { card?: number; amount: number; merchant: string };
    if (body.card === undefined) return undefined;
    return { id: body.card, amount: body.amount, merchant: body.merchant };
  },
});
const { artifact, functions } = collectGraph({ Card, card_events });
const late_card_events = stream({
  name: 'card_events',
  source: { topic: 'card-events' },
  outputs: { id: Card.id, amount: Card.last_amount },
  lateArrivalDeadline: '5s',
  parse: ({ value }) => {
    const body = JSON.parse(value) as { card: number; amount: number };
    return { id: body.card, amount: body.amount };
  },
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(name: string, graph = { artifact, functions }) {
  const busRoot = join(root, name, 'bus');
  const openBus = async () => {
    const bus = createLogBus({ root: busRoot, sync: false });
    await bus.init();
    return bus;
  };
  const bus = await openBus();
  const objectStore = createLocalObjectStore({ root: join(root, name, 'objects') });
  await objectStore.init();
  const offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  const online = createMemoryOnlineStore();
  await online.init();
  const worker = createPersistenceWorker({
    bus,
    writers: createPersistenceWriters({ onlineStore: online, offlineStore: offline }),
    lingerMs: 5,
  });
  worker.start();
  const served = new ServedEnvironments();
  served.upsert({ id: ENV, name: 'dev', teamId: 't', projectId: 'p' });
  served.activate(ENV, {
    id: 'd1',
    engine: createEngine({
      graph: graph.artifact,
      runtime: createInProcessRuntime(graph.functions),
      environment: ENV,
      deploymentId: 'd1',
    }),
  });
  cleanups.push(async () => {
    await worker.stop();
    await served.close();
    await bus.close();
    await offline.close();
  });
  const produce = (bodies: unknown[]) =>
    bus.publish(
      'card-events',
      bodies.map((body, i) => ({
        key: String(i),
        value: typeof body === 'string' ? body : JSON.stringify(body),
      })),
    );
  return { bus, openBus, online, offline, served, produce };
}

const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('stream consumers', () => {
  it('serves streamed values online; a malformed message goes to the dead-letter topic and the stream goes on', async () => {
    const { bus, online, offline, served, produce } = await setup('mapping');
    const metrics = createDataPlaneMetrics();
    const consumers = createStreamConsumers({ served, bus, name: 'dp-1', metrics, pollWaitMs: 20 });
    consumers.start();
    cleanups.push(() => consumers.stop());

    await produce([
      { card: 1, amount: 10.5, merchant: 'acme' },
      'not json',
      { amount: 3, merchant: 'no card: skipped' },
      { card: 2, amount: 99, merchant: 'globex' },
      { card: 1, amount: 12.25, merchant: 'acme' },
    ]);
    const stored = await eventually(
      () =>
        online.get(ENV, [
          { feature: 'card.last_amount', pkey: '1' },
          { feature: 'card.last_amount', pkey: '2' },
        ]),
      (v) => v[0]?.value === 12.25 && v[1] !== null,
    );
    expect(stored.map((s) => s?.value)).toEqual([12.25, 99]);
    // merchant has no etlOfflineToOnline: offline only.
    expect(await online.get(ENV, [{ feature: 'card.merchant', pkey: '2' }])).toEqual([null]);
    const merchants = await eventually(
      () => offline.scan(ENV, { features: ['card.merchant'] }),
      (v) => v.length >= 3,
    );
    expect(merchants.map((o) => [o.pkey, o.value]).sort()).toEqual([
      ['1', 'acme'],
      ['1', 'acme'],
      ['2', 'globex'],
    ]);

    const dead = bus.consumer({ topic: deadLetterTopic('card-events'), group: 'inspect' });
    const letters = await eventually(
      () => dead.poll({ max: 10 }),
      (v) => v.length > 0,
    );
    expect(letters.map((m) => m.value)).toEqual(['not json']);
    expect(letters[0]!.headers['slate-dead-letter-reason']).toMatch(/SyntaxError/);
    await dead.close();

    await produce([{ card: 3, amount: 1, merchant: 'after the bad one' }]);
    await eventually(
      () => online.get(ENV, [{ feature: 'card.last_amount', pkey: '3' }]),
      (v) => v[0] !== null,
    );
    const text = (await metrics.render()).text;
    expect(text).toMatch(/stream_messages\{resolver="card_events",status="dead_letter"\} 1/);
    expect(text).toMatch(/stream_messages\{resolver="card_events",status="skipped"\} 1/);
    expect(text).toMatch(/stream_consumer_lag_seconds\{resolver="card_events"\} \d/);
  });

  it('survives a restart mid-batch (results published, not acknowledged) without loss or duplicates', async () => {
    const { bus, offline, served, produce } = await setup('restart');
    const total = 40;
    await produce(Array.from({ length: total }, (_, i) => ({ card: i, amount: i, merchant: `m${i}` })));
    let crash = true;
    const first = createStreamConsumers({
      served,
      bus,
      name: 'dp-1',
      batchSize: 15,
      pollWaitMs: 20,
      // The first batch's results reach the result bus, then the process "dies" before acknowledging.
      beforeAck: async () => {
        if (crash) {
          crash = false;
          throw new Error('crash before ack');
        }
        await new Promise(() => {}); // the dying process does nothing more
      },
    });
    first.start();
    await eventually(
      async () => crash,
      (v) => !v,
    );
    void first.stop();
    // A restarted process: a consumer under the same name gets the unacknowledged batch back.
    const second = createStreamConsumers({ served, bus, name: 'dp-1', pollWaitMs: 20 });
    second.start();
    cleanups.push(() => second.stop());
    const merchants = await eventually(
      () => offline.scan(ENV, { features: ['card.merchant'] }),
      (v) => v.length >= total,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // room for a duplicate to show up
    const after = await offline.scan(ENV, { features: ['card.merchant'] });
    expect(after.length).toBe(total);
    expect(new Set(merchants.map((o) => o.pkey)).size).toBe(total);
  });

  it('drops messages published before the late-arrival deadline', async () => {
    const { bus, online, served, produce } = await setup('late', collectGraph({ Card, late_card_events }));
    const metrics = createDataPlaneMetrics();
    let skew = 60_000; // the consumer's clock runs a minute ahead: every message is late
    const consumers = createStreamConsumers({
      served,
      bus,
      name: 'dp-1',
      metrics,
      pollWaitMs: 20,
      clock: () => Date.now() + skew,
    });
    consumers.start();
    cleanups.push(() => consumers.stop());
    await produce([{ card: 7, amount: 1 }]);
    await eventually(
      async () => (await metrics.render()).text,
      (text) => /status="late"\} 1/.test(text),
    );
    skew = 0;
    await produce([{ card: 8, amount: 2 }]);
    const stored = await eventually(
      () =>
        online.get(ENV, [
          { feature: 'card.last_amount', pkey: '7' },
          { feature: 'card.last_amount', pkey: '8' },
        ]),
      (v) => v[1] !== null,
    );
    expect(stored.map((s) => s?.value ?? null)).toEqual([null, 2]);
  });
});
