import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime } from '@slate/engine';
import { collectGraph, dataFrame, features, int, offline, string } from '@slate/sdk';
import { createLocalObjectStore, createLogBus } from '@slate/stores';
import { afterAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { createRunScheduler } from './run-scheduler.ts';
import { createRunService } from './run-service.ts';
import { createObjectRunStore } from './run-store.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-run-scheduler-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const Shop = features('shop', { id: int(), city: string() });
const all_shops = offline({
  inputs: {},
  outputs: { rows: dataFrame(Shop, 'id', 'city') },
  total: true,
  cron: '1d',
  fn: () => ({ rows: [{ id: 1, city: 'Lyon' }] }),
});

describe('cron fires on three jobs replicas', () => {
  it('starts each due time once: only the replica granted the claim fires it', async () => {
    const bus = createLogBus({ root: join(root, 'bus'), sync: false });
    await bus.init();
    const objects = createLocalObjectStore({ root: join(root, 'objects') });
    await objects.init();
    const { artifact, functions } = collectGraph({ Shop, all_shops });
    // The claim contract of the metadata plane's leases (tested against PostgreSQL in its replicas suite).
    const holders = new Map<string, string>();
    const claimAs = (replica: string) => async (key: string) => {
      if (!holders.has(key)) holders.set(key, replica);
      return holders.get(key) === replica;
    };
    let now = new Date('2026-01-01T23:00:00Z');
    const replicas = ['east-0', 'east-1', 'east-2'].map((name) => {
      // Each replica has its own served deployment, run service and run store over the shared bucket.
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
      const scheduler = createRunScheduler({
        served,
        trigger: (message) => runs.trigger(message),
        claim: claimAs(name),
        clock: () => now,
      });
      return { name, served, runs, scheduler };
    });
    try {
      expect((await Promise.all(replicas.map((r) => r.scheduler.tick()))).flat()).toEqual([]);
      now = new Date('2026-01-02T00:00:01Z'); // midnight is due, on every replica at once
      const fired = await Promise.all(replicas.map((r) => r.scheduler.tick()));
      expect(fired.map((f) => f.length).sort()).toEqual([0, 0, 1]);
      await Promise.all(replicas.map((r) => r.runs.idle()));
      const runs = await replicas[0]!.runs.list('env-1');
      expect(runs.map((r) => [r.trigger, r.idempotency_key, r.status])).toEqual([
        ['CRON', 'cron:env-1:all_shops:2026-01-02T00:00:00.000Z', 'succeeded'],
      ]);
      expect([...holders.keys()]).toEqual(['cron:env-1:all_shops:2026-01-02T00:00:00.000Z']);
    } finally {
      for (const r of replicas) {
        await r.runs.idle();
        await r.served.close();
      }
      await bus.close();
    }
  });
});
