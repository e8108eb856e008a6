import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createInProcessRuntime, createSqlRuntime } from '@slate/engine';
import { collectGraph, datetime, features, float, int, sqlResolver, string } from '@slate/sdk';
import {
  createLocalObjectStore,
  createLogBus,
  createMemoryOnlineStore,
  createParquetOfflineStore,
  createSqlSource,
  type SqlSource,
} from '@slate/stores';
import { isReachable, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createPersistenceWorker, type PersistenceWorker } from '../persistence/persistence-worker.ts';
import { createPersistenceWriters } from '../persistence/persistence-writers.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import type { RunRecord } from './run-record.ts';
import { createRunScheduler } from './run-scheduler.ts';
import { createRunService, type RunService } from './run-service.ts';
import { createObjectRunStore } from './run-store.ts';

const up = await isReachable(testServices.postgresUrl);
const ENV = 'env-runs';
const day = (d: number) => new Date(Date.UTC(2026, 0, d));

describe.skipIf(!up)('resolver runs over a PostgreSQL source', () => {
  const table = `p7_members_${randomBytes(4).toString('hex')}`;
  let root: string;
  let source: SqlSource;
  let worker: PersistenceWorker;
  let objects: ReturnType<typeof createLocalObjectStore>;
  let offline: ReturnType<typeof createParquetOfflineStore>;
  let online: ReturnType<typeof createMemoryOnlineStore>;
  let bus: ReturnType<typeof createLogBus>;
  const served = new ServedEnvironments();

  const Member = features('member', {
    id: int(),
    full_name: string().maxStaleness('1h').etlOfflineToOnline(),
    score: float(),
    updated_at: datetime().featureTime(),
  });
  const members = sqlResolver({
    source: 'app',
    resolves: Member,
    query: `select id, full_name, score, updated_at from ${table}`,
    cron: '1h',
  });
  const members_incremental = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, full_name, score, updated_at from ${table}`,
    incremental: { column: 'updated_at' },
  });
  const { artifact, functions } = collectGraph({ Member, members, members_incremental });

  const insert = async (id: number) =>
    source.query({
      text: `insert into ${table} values ($1, $2, $3, $4)`,
      params: [id, `Member ${id}`, id / 10, day(id)],
    });

  const newService = (clock?: () => Date) =>
    createRunService({
      served,
      store: createObjectRunStore(objects),
      publisher: createResultPublisher(bus),
      sqlSources: () => new Map([['app', source]]),
      clock,
      chunkSize: 2,
    });

  const finished = async (runs: RunService, id: string): Promise<RunRecord> => {
    await runs.idle();
    return (await runs.get(ENV, id))!;
  };

  /** Waits until the persistence worker has written what `check` looks for. */
  const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (check(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const offlineValues = async (feature: string) =>
    Object.fromEntries(
      (await offline.scan(ENV, { features: [feature] })).map((o) => [o.pkey, o.value] as [string, unknown]),
    );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'slate-runs-'));
    source = createSqlSource({ type: 'postgres', url: testServices.postgresUrl });
    await source.init();
    await source.query({
      text: `create table ${table} (id int primary key, full_name text, score double precision, updated_at timestamptz)`,
      params: [],
    });
    for (let id = 1; id <= 6; id++) await insert(id);
    bus = createLogBus({ root: join(root, 'bus'), sync: false });
    await bus.init();
    objects = createLocalObjectStore({ root: join(root, 'objects') });
    await objects.init();
    offline = createParquetOfflineStore({ objectStore: objects, threads: 1 });
    await offline.init();
    online = createMemoryOnlineStore();
    await online.init();
    worker = createPersistenceWorker({
      bus,
      writers: createPersistenceWriters({ onlineStore: online, offlineStore: offline }),
      lingerMs: 5,
    });
    worker.start();
    const engine = createEngine({
      graph: artifact,
      runtime: createSqlRuntime({
        resolvers: artifact.resolvers,
        sources: new Map([['app', source]]),
        fallback: createInProcessRuntime(functions),
      }),
      onlineStore: online,
      environment: ENV,
      deploymentId: 'd1',
    });
    served.upsert({ id: ENV, name: 'dev', teamId: 't', projectId: 'p' });
    served.activate(ENV, { id: 'd1', engine });
  });
  afterAll(async () => {
    await worker?.stop();
    await served.close();
    await source?.query({ text: `drop table if exists ${table}`, params: [] });
    await source?.close();
    await bus?.close();
    await offline?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('reports a triggered run, honours its bounds and its idempotency key', async () => {
    const runs = newService();
    const request = {
      resolver_fqn: 'members',
      environment: ENV,
      lower_bound: day(2).toISOString(),
      upper_bound: day(4).toISOString(),
      idempotency_key: 'bounded-1',
      trigger: 'API' as const,
    };
    const received = await runs.trigger(request);
    expect(received.status).toBe('received');
    const done = await finished(runs, received.id);
    expect(done).toMatchObject({ status: 'succeeded', rows: 2, error: null });
    // Rows 2 and 3 have updated_at in [Jan 2, Jan 4): the bounds, applied to the feature-time column.
    const names = await eventually(
      () => offlineValues('member.full_name'),
      (v) => Object.keys(v).length >= 2,
    );
    expect(names).toEqual({ '2': 'Member 2', '3': 'Member 3' });
    expect(await offlineValues('member.score')).toEqual({ '2': 0.2, '3': 0.3 });
    // full_name has etlOfflineToOnline and a max staleness: it is online too; score is not.
    const stored = await online.get(ENV, [
      { feature: 'member.full_name', pkey: '2' },
      { feature: 'member.score', pkey: '2' },
    ]);
    expect(stored.map((s) => s?.value ?? null)).toEqual(['Member 2', null]);

    const again = await runs.trigger(request);
    expect(again.id).toBe(received.id);
    expect((await runs.list(ENV)).filter((r) => r.idempotency_key === 'bounded-1')).toHaveLength(1);
    await expect(
      runs.trigger({ ...request, resolver_fqn: 'nope', idempotency_key: null }),
    ).rejects.toMatchObject({
      code: 'RESOLVER_NOT_FOUND',
    });
  });

  it('fires a cron resolver on schedule (injected clock); its values are then served online and offline', async () => {
    // Hours relative to the real time, so the values the run writes online are fresh for the query below.
    const hour = 3_600_000;
    const top = Math.floor(Date.now() / hour) * hour;
    let now = new Date(top - 3 * hour + 30 * 60_000);
    const runs = newService(() => now);
    const scheduler = createRunScheduler({ served, trigger: (m) => runs.trigger(m), clock: () => now });
    expect(await scheduler.tick()).toEqual([]); // first sight: nothing replayed from before
    now = new Date(top - 2 * hour - 1_000);
    expect(await scheduler.tick()).toEqual([]);
    now = new Date(Date.now()); // top-2h, top-1h and top were due: capped to the latest one
    const fired = await scheduler.tick();
    expect(fired).toEqual([
      expect.objectContaining({
        resolver_fqn: 'members',
        trigger: 'CRON',
        idempotency_key: `cron:${ENV}:members:${new Date(top).toISOString()}`,
      }),
    ]);
    expect(await scheduler.tick()).toEqual([]);
    await runs.idle();
    const run = (await runs.list(ENV)).find((r) => r.trigger === 'CRON')!;
    expect(run).toMatchObject({ status: 'succeeded', rows: 6 });

    const names = await eventually(
      () => offlineValues('member.full_name'),
      (v) => Object.keys(v).length >= 6,
    );
    expect(names).toEqual(Object.fromEntries([1, 2, 3, 4, 5, 6].map((id) => [String(id), `Member ${id}`])));
    // Served online from the store the run filled (a cache hit, not a new query to PostgreSQL).
    await eventually(
      () => online.get(ENV, [{ feature: 'member.full_name', pkey: '6' }]),
      (v) => v[0] !== null,
    );
    await source.query({ text: `update ${table} set full_name = 'changed' where id = 6`, params: [] });
    const result = await served.withEngine(ENV, ({ engine }) =>
      engine.query({ inputs: { 'member.id': [6] }, outputs: ['member.full_name'] }),
    );
    const column = result!.columns.find((c) => c.fqn === 'member.full_name')!;
    expect(column.values).toEqual(['Member 6']);
    expect(column.cacheHits[0]).toBe(true);
    await source.query({ text: `update ${table} set full_name = 'Member 6' where id = 6`, params: [] });
    await scheduler.stop();
  });

  it('runs incrementally: after a restart only rows past the high-water mark', async () => {
    const first = newService();
    const one = await first.trigger({
      resolver_fqn: 'members_incremental',
      environment: ENV,
      trigger: 'MANUAL',
    });
    expect(await finished(first, one.id)).toMatchObject({
      status: 'succeeded',
      rows: 6,
      high_water_from: null,
      high_water_to: day(6).toISOString(),
    });
    await insert(7);
    await insert(8);
    const restarted = newService(); // a new process: state comes back from object storage
    const two = await restarted.trigger({
      resolver_fqn: 'members_incremental',
      environment: ENV,
      trigger: 'MANUAL',
    });
    expect(await finished(restarted, two.id)).toMatchObject({
      status: 'succeeded',
      rows: 2,
      high_water_from: day(6).toISOString(),
      high_water_to: day(8).toISOString(),
    });
    const three = await restarted.trigger({
      resolver_fqn: 'members_incremental',
      environment: ENV,
      trigger: 'API',
    });
    expect(await finished(restarted, three.id)).toMatchObject({ status: 'succeeded', rows: 0 });
  });
});
