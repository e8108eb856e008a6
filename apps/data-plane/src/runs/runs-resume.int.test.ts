/**
 * Two replicas of one data plane (two run services in this process) share the run records (object store),
 * the result bus and a PostgreSQL lease table claimed with the metadata plane's statement. The replica
 * running a run stops mid-run — everything it does (SQL source, bus, run store, lease) stops answering,
 * as a killed or frozen process — and the other takes the run over and finishes it. Values are counted in
 * the stores against the rows this test inserted: every entity once, online and offline.
 */
import { randomBytes } from 'node:crypto';
import { collectGraph, datetime, features, float, int, sqlResolver, string } from '@slate/sdk';
import { type Bus, createSqlSource, type SqlSource } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import type { RunRecord } from './run-record.ts';
import { createRunService, type RunService } from './run-service.ts';
import { createObjectRunStore, type RunStore } from './run-store.ts';
import { createRunStores, type RunStores } from './run-stores.fixture.ts';

const up = await requireService('PostgreSQL', testServices.postgresUrl);
const ENV = 'env-resume';
const ROWS = 40;
const PAGE = 5;

describe.skipIf(!up)('runs taken over when their replica stops (PostgreSQL source and leases)', () => {
  const suffix = randomBytes(4).toString('hex');
  const table = `resume_members_${suffix}`;
  const leases = `resume_leases_${suffix}`;
  let source: SqlSource;
  let bus: Bus;
  let stores: RunStores | undefined;
  let objects: RunStores['objects'];
  let offline: RunStores['offline'];
  let online: RunStores['online'];
  const served = new ServedEnvironments();

  const Member = features('member', {
    id: int(),
    full_name: string().maxStaleness('1h').etlOfflineToOnline(),
    score: float(),
    updated_at: datetime().featureTime(),
  });
  const members_all = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, full_name, score, updated_at from ${table}`,
  });
  const members_feed = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, full_name, score, updated_at from ${table}`,
    incremental: { column: 'updated_at' },
  });
  const { artifact, functions } = collectGraph({ Member, members_all, members_feed });

  /** The metadata plane's claim (`claimLease`): granted when free, renewed by its holder, taken when expired. */
  const claimAs =
    (holder: string) =>
    async (key: string, ttlSeconds: number): Promise<boolean> => {
      const result = await source.query({
        text: `insert into ${leases} (key, holder, expires_at, generation)
               values ($1, $2, now() + make_interval(secs => $3), 1)
               on conflict (key) do update set
                 holder = excluded.holder,
                 expires_at = excluded.expires_at,
                 generation = ${leases}.generation + (case when ${leases}.holder = excluded.holder then 0 else 1 end)
               where ${leases}.holder = excluded.holder or ${leases}.expires_at <= now()
               returning holder`,
        params: [key, holder, ttlSeconds],
      });
      return result.rows.length > 0;
    };

  /**
   * A replica whose every outside call (SQL source, bus, run store, lease) can be held: `stop()` holds
   * them from the `stopAtRead`-th SQL read on, as if the process froze or died there; `wake()` lets them go.
   */
  const replica = (name: string, options: { stopAtRead?: number; readDelayMs?: number } = {}) => {
    let gate: Promise<void> | undefined;
    let open: () => void = () => {};
    let reads = 0;
    let stopped!: () => void;
    const reached = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    const stop = () => {
      gate ??= new Promise<void>((resolve) => {
        open = resolve;
      });
      stopped();
    };
    const held = async <T>(call: () => Promise<T>): Promise<T> => {
      if (gate) await gate;
      return call();
    };
    const app: SqlSource = {
      dialect: source.dialect,
      init: async () => {},
      close: async () => {},
      async query(statement, signal) {
        if (++reads === options.stopAtRead) stop();
        if (options.readDelayMs) await new Promise((resolve) => setTimeout(resolve, options.readDelayMs));
        return held(() => source.query(statement, signal));
      },
    };
    const replicaBus: Bus = {
      capabilities: bus.capabilities,
      init: () => bus.init(),
      close: async () => {},
      publish: (topic, messages, signal) => held(() => bus.publish(topic, messages, signal)),
      consumer: (o) => bus.consumer(o),
      seek: (topic, group, offset) => bus.seek(topic, group, offset),
    };
    const shared = createObjectRunStore(objects);
    const store = Object.fromEntries(
      Object.entries(shared).map(([method, fn]) => [
        method,
        (...args: unknown[]) => held(() => (fn as (...a: unknown[]) => Promise<unknown>)(...args)),
      ]),
    ) as unknown as RunStore;
    const claim = claimAs(name);
    const service: RunService = createRunService({
      served,
      store,
      publisher: createResultPublisher(replicaBus),
      sqlSources: () => new Map([['app', app]]),
      chunkSize: PAGE,
      heartbeatMs: 40,
      staleAfterMs: 400,
      claim: (key, ttl) => held(() => claim(key, ttl)),
      instance: name,
    });
    return { service, reached, wake: () => open() };
  };

  /** Sweeps as a `jobs` replica does until it has taken the run over; then waits for it to end. */
  const takeOver = async (runs: RunService, id: string): Promise<RunRecord> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const taken = (await runs.recover(ENV)).find((record) => record.id === id);
      if (taken) break;
      if (Date.now() > deadline) throw new Error(`run ${id} was not taken over`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await runs.idle();
    return (await createObjectRunStore(objects).get(ENV, id))!;
  };

  /** Offline values a resolver wrote for a feature: how many per primary key. */
  const offlineCounts = async (feature: string, resolver: string) => {
    const counts: Record<string, number> = {};
    for (const o of await offline.scan(ENV, { features: [feature] }))
      if (o.resolver === resolver) counts[o.pkey] = (counts[o.pkey] ?? 0) + 1;
    return counts;
  };
  /** Waits until the persistence worker has written `n` values, then a little longer (late duplicates). */
  const settled = async (feature: string, resolver: string, n: number) => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const total = Object.values(await offlineCounts(feature, resolver)).reduce((a, b) => a + b, 0);
      if (total >= n) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    return offlineCounts(feature, resolver);
  };
  const once = Object.fromEntries(Array.from({ length: ROWS }, (_, i) => [String(i + 1), 1]));
  const leaseOf = async (key: string) =>
    (
      await source.query({
        text: `select holder, generation from ${leases} where key = $1`,
        params: [key],
      })
    ).rows[0];

  beforeAll(async () => {
    source = createSqlSource({ type: 'postgres', url: testServices.postgresUrl });
    await source.init();
    await source.query({
      text: `create table ${table} (id int primary key, full_name text, score double precision, updated_at timestamptz)`,
      params: [],
    });
    await source.query({
      text: `insert into ${table} select i, 'Member ' || i, i / 10.0, timestamptz '2026-01-01' + make_interval(hours => i)
             from generate_series(1, ${ROWS}) as i`,
      params: [],
    });
    await source.query({
      text: `create table ${leases} (key text primary key, holder text not null, expires_at timestamptz not null, generation int not null)`,
      params: [],
    });
    stores = await createRunStores({
      folderPrefix: 'slate-runs-resume-',
      source,
      graph: { artifact, functions },
      environment: ENV,
      served,
    });
    ({ bus, objects, offline, online } = stores);
  });
  afterAll(async () => {
    await stores?.close();
    await source?.query({ text: `drop table if exists ${table}`, params: [] });
    await source?.query({ text: `drop table if exists ${leases}`, params: [] });
    await source?.close();
  });

  it('a run whose replica died mid-run is finished by the other replica, every value written once', async () => {
    const a = replica('replica-a', { stopAtRead: 5, readDelayMs: 60 });
    const b = replica('replica-b');
    const { id } = await a.service.trigger({ resolver_fqn: 'members_all', environment: ENV, trigger: 'API' });
    await a.reached; // replica a is gone from its fifth page on (pages 1–4 were handed to its publisher)
    const left = (await createObjectRunStore(objects).get(ENV, id))!;
    expect(left).toMatchObject({ status: 'running', attempt: 1, instance: 'replica-a' });
    expect(await leaseOf(`run:${ENV}/${id}`)).toEqual({ holder: 'replica-a', generation: 1 });

    const done = await takeOver(b.service, id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      instance: 'replica-b',
      rows: ROWS,
      values: ROWS * 3, // full_name and score offline, full_name online
      chunks: ROWS / PAGE,
      error: null,
    });
    expect(done.scan_at).toBe(left.scan_at); // the take-over read at the first attempt's instant
    expect(await leaseOf(`run:${ENV}/${id}`)).toEqual({ holder: 'replica-b', generation: 2 });
    // Counted in the stores: every member once offline per feature, and online.
    expect(await settled('member.full_name', 'members_all', ROWS)).toEqual(once);
    expect(await offlineCounts('member.score', 'members_all')).toEqual(once);
    const names = await online.get(
      ENV,
      Array.from({ length: ROWS }, (_, i) => ({ feature: 'member.full_name', pkey: String(i + 1) })),
    );
    expect(names.map((v) => v?.value)).toEqual(Array.from({ length: ROWS }, (_, i) => `Member ${i + 1}`));
    // The stopped replica is never reported as having finished it, and reading the run takes nothing over.
    expect((await b.service.get(ENV, id))!).toMatchObject({ status: 'succeeded', attempt: 2 });
    // Finished: out of the index the replicas sweep.
    expect((await createObjectRunStore(objects).unfinished(ENV)).map((r) => r.id)).not.toContain(id);
  });

  it('an incremental run resumes from the mark it started at; a frozen replica that wakes up stops and writes nothing more', async () => {
    const a = replica('replica-a', { stopAtRead: 4, readDelayMs: 60 });
    const b = replica('replica-b');
    const { id } = await a.service.trigger({
      resolver_fqn: 'members_feed',
      environment: ENV,
      trigger: 'API',
    });
    await a.reached;
    const done = await takeOver(b.service, id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      instance: 'replica-b',
      rows: ROWS,
      high_water_from: null,
      high_water_to: new Date(Date.UTC(2026, 0, 1, ROWS)).toISOString(),
    });
    // Replica a wakes up: its lease renewal is refused, so it stops between batches and leaves the record.
    a.wake();
    await a.service.idle();
    expect((await createObjectRunStore(objects).get(ENV, id))!).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      instance: 'replica-b',
    });
    expect(await settled('member.full_name', 'members_feed', ROWS)).toEqual(once);
    expect(await offlineCounts('member.score', 'members_feed')).toEqual(once);
    // The mark moved once, to the last row: a next run reads nothing.
    const next = await b.service.trigger({ resolver_fqn: 'members_feed', environment: ENV, trigger: 'API' });
    await b.service.idle();
    expect((await b.service.get(ENV, next.id))!).toMatchObject({ status: 'succeeded', rows: 0 });
  });
});
