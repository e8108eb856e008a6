import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph, features, int, online, scheduledQuery, string } from '@slate/sdk';
import {
  createLocalObjectStore,
  createLogBus,
  createParquetOfflineStore,
  type Observation,
} from '@slate/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createOfflineQueryService } from '../offline/offline-query-service.ts';
import { parseResultMessage, RESULT_BUS_TOPIC, type ResultMessage } from '../persistence/result-message.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { createScheduledQueryRunner } from './scheduled-query-runner.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-scheduled-queries-'));
const ENV = 'env-sq';
const Shop = features('shop', { id: int(), city: string().maxStaleness('1h'), label: string() });
const shop_label = online({
  inputs: { id: Shop.id },
  outputs: { label: Shop.label },
  fn: ({ id }) => ({ label: `shop-${id}` }),
});
const cities = scheduledQuery({ name: 'cities', schedule: '1h', output: [Shop.city] });
const labels = scheduledQuery({
  name: 'labels',
  schedule: '1d',
  output: [Shop.label],
  recomputeFeatures: true,
  storeOffline: false,
  incremental: false,
});

describe('scheduled queries on the data plane', () => {
  const objects = createLocalObjectStore({ root: join(root, 'objects') });
  const offlineStore = createParquetOfflineStore({ objectStore: objects, threads: 1 });
  const bus = createLogBus({ root: join(root, 'bus'), sync: false });
  const served = new ServedEnvironments();
  const runner = () => {
    const publisher = createResultPublisher(bus);
    return createScheduledQueryRunner({
      served,
      offlineStore,
      offlineQueries: createOfflineQueryService({ served, offlineStore, objectStore: objects, publisher }),
      publisher,
      objectStore: objects,
      pollMs: 20,
    });
  };
  let seen = 0;
  /** Result messages published since the previous call. */
  const published = async (): Promise<ResultMessage[]> => {
    const consumer = bus.consumer({ topic: RESULT_BUS_TOPIC, group: `inspect-${seen++}` });
    const all: ResultMessage[] = [];
    for (;;) {
      const batch = await consumer.poll({ max: 100 });
      if (batch.length === 0) break;
      all.push(...batch.map((m) => parseResultMessage(m.value)));
    }
    await consumer.close();
    const fresh = all.slice(consumedBefore);
    consumedBefore = all.length;
    return fresh;
  };
  let consumedBefore = 0;
  const observe = (batch: string, insertedAt: number, rows: [string, string][]) =>
    offlineStore.write(ENV, [
      {
        id: batch,
        observations: rows.map(
          ([pkey, city]): Observation => ({
            feature: 'shop.city',
            pkey,
            value: city,
            observedAt: Date.UTC(2026, 0, 1),
            insertedAt,
          }),
        ),
      },
    ]);
  const due = (hour: number) => new Date(Date.UTC(2026, 0, 2, hour)).toISOString();

  beforeAll(async () => {
    for (const store of [objects, offlineStore, bus]) await store.init();
    const { artifact, functions } = collectGraph({ Shop, shop_label, cities, labels });
    served.upsert({ id: ENV, name: 'dev', teamId: 't', projectId: 'p' });
    served.activate(ENV, {
      id: 'd1',
      engine: createEngine({
        graph: artifact,
        runtime: createInProcessRuntime(functions),
        environment: ENV,
        deploymentId: 'd1',
      }),
    });
  });
  afterAll(async () => {
    await served.close();
    for (const store of [offlineStore, bus, objects]) await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('queries every key the offline store knows, then only keys with new values; sampled outputs go online', async () => {
    await observe('b1', 1_000, [
      ['1', 'Lyon'],
      ['2', 'Oslo'],
    ]);
    const first = runner();
    const one = await first.trigger({
      query_name: 'cities',
      environment: ENV,
      due_at: due(1),
      idempotency_key: 'k1',
    });
    expect(one).toMatchObject({ entities: 2, revisionId: expect.any(String) });
    await first.idle();
    const online = (await published()).filter((m) => m.writeOnline);
    expect(online.flatMap((m) => m.values.map((v) => [v.feature, v.pkey, v.value, v.ttlMs]))).toEqual([
      ['shop.city', '1', 'Lyon', 3_600_000],
      ['shop.city', '2', 'Oslo', 3_600_000],
    ]);
    expect(online.every((m) => !m.writeOffline)).toBe(true);
    // The same trigger again (a redelivery) starts nothing new.
    expect(
      await first.trigger({ query_name: 'cities', environment: ENV, due_at: due(1), idempotency_key: 'k1' }),
    ).toEqual(one);

    await observe('b2', 2_000, [['3', 'Kyoto']]);
    const restarted = runner(); // a new process: the incremental mark comes back from object storage
    const two = await restarted.trigger({
      query_name: 'cities',
      environment: ENV,
      due_at: due(2),
      idempotency_key: 'k2',
    });
    expect(two.entities).toBe(1);
    await restarted.idle();
    expect((await published()).flatMap((m) => m.values.map((v) => [v.pkey, v.value]))).toEqual([
      ['3', 'Kyoto'],
    ]);
    const three = await restarted.trigger({
      query_name: 'cities',
      environment: ENV,
      due_at: due(3),
      idempotency_key: 'k3',
    });
    expect(three).toEqual({ revisionId: null, entities: 0 });
  });

  it('recomputes outputs at the due time over every key when not incremental, stored online only', async () => {
    const run = runner();
    const started = await run.trigger({
      query_name: 'labels',
      environment: ENV,
      due_at: due(4),
      idempotency_key: 'k4',
    });
    expect(started.entities).toBe(3);
    await run.idle();
    const messages = await published();
    expect(messages.every((m) => m.writeOnline && !m.writeOffline)).toBe(true);
    expect(
      messages
        .flatMap((m) => m.values.map((v) => [v.feature, v.pkey, v.value, v.observedAt]))
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    ).toEqual(['1', '2', '3'].map((k) => ['shop.label', k, `shop-${k}`, Date.parse(due(4))]));
  });

  it('a query whose replica stopped before storing its results is finished by another replica, once', async () => {
    // The lease contract of the metadata plane (tested on PostgreSQL in its replicas suite): granted when
    // free, renewed by its holder, taken by another once expired.
    const leases = new Map<string, { holder: string; until: number }>();
    const claimAs = (holder: string) => async (key: string, ttlSeconds: number) => {
      const lease = leases.get(key);
      if (lease && lease.holder !== holder && lease.until > Date.now()) return false;
      leases.set(key, { holder, until: Date.now() + ttlSeconds * 1000 });
      return true;
    };
    const replica = (name: string, frozen = false) => {
      const publisher = createResultPublisher(bus);
      const offlineQueries = createOfflineQueryService({
        served,
        offlineStore,
        objectStore: objects,
        publisher,
      });
      return createScheduledQueryRunner({
        served,
        offlineStore,
        // A frozen replica submits the query and never comes back to store its results.
        offlineQueries: frozen
          ? { ...offlineQueries, revision: () => new Promise<never>(() => {}) }
          : offlineQueries,
        publisher,
        objectStore: objects,
        pollMs: 20,
        claim: claimAs(name),
        leaseSeconds: 1,
      });
    };
    await observe('b5', 5_000, [['4', 'Quito']]);
    await published();
    const a = replica('a', true);
    const b = replica('b');
    const trigger = { query_name: 'cities', environment: ENV, due_at: due(6), idempotency_key: 'k-resume' };
    const started = await a.trigger(trigger);
    expect(started.entities).toBe(1); // only the new key (the mark of the earlier runs)
    expect(await b.recover()).toBe(0); // replica a holds the job's lease
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await b.recover()).toBe(1);
    await b.idle();
    expect((await published()).flatMap((m) => m.values.map((v) => [v.pkey, v.value]))).toEqual([
      ['4', 'Quito'],
    ]);
    expect(await b.recover()).toBe(0); // done: nothing left to finish
    // The redelivered trigger answers what was started; the mark moved: the next fire has nothing new.
    expect(await b.trigger(trigger)).toEqual(started);
    expect(
      await b.trigger({ query_name: 'cities', environment: ENV, due_at: due(7), idempotency_key: 'k-next' }),
    ).toEqual({ revisionId: null, entities: 0 });
  });

  it('refuses unknown queries, unknown environments and malformed triggers', async () => {
    const run = runner();
    await expect(
      run.trigger({ query_name: 'nope', environment: ENV, due_at: due(5), idempotency_key: 'k5' }),
    ).rejects.toMatchObject({ code: 'SCHEDULED_QUERY_NOT_FOUND' });
    await expect(
      run.trigger({ query_name: 'cities', environment: 'elsewhere', due_at: due(5), idempotency_key: 'k6' }),
    ).rejects.toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
    await expect(run.trigger({ query_name: 'cities' })).rejects.toThrow();
  });
});
