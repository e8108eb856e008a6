import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph, dataFrame, features, int, offline, string } from '@slate/sdk';
import { createLocalObjectStore, createLogBus, createMemoryQueueBroker } from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { parseResultMessage, RESULT_BUS_TOPIC } from '../persistence/result-message.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { createRunService } from './run-service.ts';
import { createObjectRunStore } from './run-store.ts';
import { consumeRunTriggers, triggerHandler } from './run-trigger-consumer.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-run-triggers-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const Shop = features('shop', { id: int(), city: string() });
const shops = [
  { id: 1, city: 'Lyon' },
  { id: 2, city: 'Oslo' },
  { id: 3, city: 'Kyoto' },
];
const all_shops = offline({
  inputs: {},
  outputs: { rows: dataFrame(Shop, 'id', 'city') },
  total: true,
  cron: '1d',
  fn: () => ({ rows: shops }),
});

describe('run triggers from the scheduled-resolver-trigger queue', () => {
  it('starts a run per message (once per idempotency key) and refuses what it cannot run', async () => {
    const bus = createLogBus({ root: join(root, 'bus'), sync: false });
    await bus.init();
    const objects = createLocalObjectStore({ root: join(root, 'objects') });
    await objects.init();
    const { artifact, functions } = collectGraph({ Shop, all_shops });
    const served = new ServedEnvironments();
    served.upsert({ id: 'env-1', name: 'dev', teamId: 't', projectId: 'p' });
    served.activate('env-1', {
      id: 'd1',
      engine: createEngine({
        graph: artifact,
        runtime: createInProcessRuntime(functions),
        environment: 'env-1',
        deploymentId: 'd1',
      }),
    });
    const runs = createRunService({
      served,
      store: createObjectRunStore(objects),
      publisher: createResultPublisher(bus),
      sqlSources: () => new Map(),
    });
    const broker = createMemoryQueueBroker();
    await broker.init();
    const queue = await broker.queue('scheduled-resolver-trigger', { maxAttempts: 1 });
    const worker = consumeRunTriggers(queue, runs);

    const trigger = {
      resolver_fqn: 'all_shops',
      environment: 'env-1',
      idempotency_key: 'cron:env-1:all_shops:2026-01-01T00:00:00.000Z',
      trigger: 'CRON',
    };
    await queue.send(trigger);
    await queue.send(trigger); // a redelivery or a second scheduler: no second run
    await queue.send({ resolver_fqn: 'missing', environment: 'env-1', trigger: 'CRON' });
    await queue.send({ nonsense: true });
    await expect.poll(() => queue.depth(), { timeout: 5_000 }).toBe(0);
    await runs.idle();
    await worker.stop();

    const recorded = await runs.list('env-1');
    expect(recorded).toEqual([
      expect.objectContaining({ resolver_fqn: 'all_shops', trigger: 'CRON', status: 'succeeded', rows: 3 }),
    ]);
    const dead = await broker.queue(queue.deadLetterName);
    expect(await dead.depth()).toBe(2);

    const consumer = bus.consumer({ topic: RESULT_BUS_TOPIC, group: 'inspect' });
    const published = (await consumer.poll({ max: 10 })).map((m) => parseResultMessage(m.value));
    expect(published.flatMap((m) => m.values.map((v) => [v.feature, v.pkey, v.value]))).toEqual(
      shops.map((s) => ['shop.city', String(s.id), s.city]),
    );
    expect(published.every((m) => m.writeOffline && !m.writeOnline)).toBe(true);
    await consumer.close();
    await served.close();
    await broker.close();
    await bus.close();
  });
});

describe('leased scheduled triggers', () => {
  it('start a run per resolver trigger (its id acknowledged), route query triggers, refuse the rest', async () => {
    const objects = createLocalObjectStore({ root: join(root, 'leased-objects') });
    await objects.init();
    const bus = createLogBus({ root: join(root, 'leased-bus'), sync: false });
    await bus.init();
    const { artifact, functions } = collectGraph({ Shop, all_shops });
    const served = new ServedEnvironments();
    served.upsert({ id: 'env-1', name: 'dev', teamId: 't', projectId: 'p' });
    served.activate('env-1', {
      id: 'd1',
      engine: createEngine({
        graph: artifact,
        runtime: createInProcessRuntime(functions),
        environment: 'env-1',
        deploymentId: 'd1',
      }),
    });
    const runs = createRunService({
      served,
      store: createObjectRunStore(objects),
      publisher: createResultPublisher(bus),
      sqlSources: () => new Map(),
    });
    const key = 'cron:env-1:all_shops:2026-01-01T01:00:00.000Z';
    const resolverTrigger = {
      key,
      kind: 'resolver' as const,
      attempt: 1,
      body: { resolver_fqn: 'all_shops', environment: 'env-1', idempotency_key: key, trigger: 'CRON' },
    };
    const handle = triggerHandler(runs, async (body) => `query:${String(body.query_name)}`);
    const runId = await handle(resolverTrigger);
    expect(runId).toMatch(/^run_/);
    expect(await handle({ ...resolverTrigger, attempt: 2 })).toBe(runId); // re-leased: the same run
    expect(await handle({ key: 'q', kind: 'query', attempt: 1, body: { query_name: 'nightly' } })).toBe(
      'query:nightly',
    );
    await expect(
      triggerHandler(runs)({ key: 'q', kind: 'query', attempt: 1, body: { query_name: 'nightly' } }),
    ).rejects.toMatchObject({ code: 'SCHEDULED_QUERIES_UNAVAILABLE' });
    await expect(handle({ ...resolverTrigger, body: { environment: 'env-1' } })).rejects.toThrow();
    await runs.idle();
    expect(await runs.list('env-1')).toEqual([
      expect.objectContaining({ id: runId, trigger: 'CRON', status: 'succeeded', rows: shops.length }),
    ]);
    await served.close();
    await bus.close();
  });
});
