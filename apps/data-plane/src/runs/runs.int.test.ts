import { randomBytes } from 'node:crypto';
import { collectGraph, datetime, features, float, int, sqlResolver, string } from '@slate/sdk';
import { createSqlSource, type SqlSource } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedEnvironments } from '../deployments/served-environments.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import type { RunRecord } from './run-record.ts';
import { createRunScheduler } from './run-scheduler.ts';
import { createRunService, type RunService } from './run-service.ts';
import { createObjectRunStore } from './run-store.ts';
import { createRunStores, type RunStores } from './run-stores.fixture.ts';

const up = await requireService('PostgreSQL', testServices.postgresUrl);
const ENV = 'env-runs';
const day = (d: number) => new Date(Date.UTC(2026, 0, d));

describe.skipIf(!up)('resolver runs over a PostgreSQL source', () => {
  const table = `p7_members_${randomBytes(4).toString('hex')}`;
  const payments = `${table}_payments`;
  let source: SqlSource;
  let stores: RunStores | undefined;
  let objects: RunStores['objects'];
  let offline: RunStores['offline'];
  let online: RunStores['online'];
  let bus: RunStores['bus'];
  const served = new ServedEnvironments();

  const Member = features('member', {
    id: int(),
    full_name: string().maxStaleness('1h').etlOfflineToOnline(),
    score: float(),
    updated_at: datetime().featureTime(),
    payment_count: int(),
    payment_total: float(),
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
  const members_cancel = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, full_name, score, updated_at from ${table}`,
    incremental: { column: 'updated_at' },
  });
  const member_payments = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select member_id as id, count(*) as payment_count, sum(amount) as payment_total
            from ${payments} group by member_id`,
    incremental: { mode: 'group', column: 'created_at' },
  });
  const members_recent = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, full_name, updated_at from ${table} where updated_at > \${chalk_incremental_timestamp}`,
    incremental: { mode: 'parameter', lookback: '1d' },
  });
  const members_since_run = sqlResolver({
    source: 'app',
    resolves: Member,
    kind: 'offline',
    query: `select id, score, updated_at from ${table}`,
    incremental: { column: 'updated_at', timestamp: 'resolver_execution_time' },
  });
  const { artifact, functions } = collectGraph({
    Member,
    members,
    members_incremental,
    members_cancel,
    member_payments,
    members_recent,
    members_since_run,
  });
  const count = async (where: string, params: unknown[] = []) =>
    Number(
      (await source.query({ text: `select count(*) as n from ${table} where ${where}`, params })).rows[0]!.n,
    );
  /** Every value one resolver's runs wrote offline for a feature, by primary key, oldest write first. */
  const written = async (feature: string, resolver: string) => {
    const byKey: Record<string, unknown[]> = {};
    const all = (await offline.scan(ENV, { features: [feature] }))
      .filter((o) => o.resolver === resolver)
      .sort((a, b) => a.insertedAt - b.insertedAt);
    for (const o of all) byKey[o.pkey] = [...(byKey[o.pkey] ?? []), o.value];
    return byKey;
  };
  const writtenCount = async (feature: string, resolver: string) =>
    Object.values(await written(feature, resolver)).reduce((n, values) => n + values.length, 0);

  const insert = async (id: number) =>
    source.query({
      text: `insert into ${table} values ($1, $2, $3, $4)`,
      params: [id, `Member ${id}`, id / 10, day(id)],
    });

  const newService = (clock?: () => Date, app: SqlSource = source, heartbeatMs?: number, resume?: boolean) =>
    createRunService({
      served,
      store: createObjectRunStore(objects),
      publisher: createResultPublisher(bus),
      sqlSources: () => new Map([['app', app]]),
      clock,
      chunkSize: 2,
      heartbeatMs,
      resume,
    });
  /** A source whose `nth` read waits until the run is aborted, as a slow query would; `reached` when it waits. */
  const slowAt = (nth: number) => {
    let reads = 0;
    let reached!: () => void;
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const slow: SqlSource = {
      dialect: source.dialect,
      init: async () => {},
      close: async () => {},
      async query(statement, signal) {
        if (++reads === nth) {
          reached();
          await new Promise<void>((resolve) => {
            if (signal?.aborted) resolve();
            signal?.addEventListener('abort', () => resolve(), { once: true });
          });
        }
        return source.query(statement, signal);
      },
    };
    return { slow, waiting };
  };

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
    source = createSqlSource({ type: 'postgres', url: testServices.postgresUrl });
    await source.init();
    await source.query({
      text: `create table ${table} (id int primary key, full_name text, score double precision, updated_at timestamptz)`,
      params: [],
    });
    for (let id = 1; id <= 6; id++) await insert(id);
    await source.query({
      text: `create table ${payments} (id int primary key, member_id int, amount double precision, created_at timestamptz)`,
      params: [],
    });
    for (let id = 1; id <= 9; id++)
      await source.query({
        text: `insert into ${payments} values ($1, $2, $3, $4)`,
        params: [id, (id % 3) + 1, id * 10, day(id)],
      });
    stores = await createRunStores({
      folderPrefix: 'slate-runs-',
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
    await source?.query({ text: `drop table if exists ${payments}`, params: [] });
    await source?.close();
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

  it('cancels a run between batches: its first batch stays written, the mark covers it, a restart goes on', async () => {
    // The run's second read waits until it is aborted, as a slow query would when the run is canceled.
    const { slow, waiting } = slowAt(2);
    const runs = newService(undefined, slow);
    const run = await runs.trigger({ resolver_fqn: 'members_cancel', environment: ENV, trigger: 'API' });
    await waiting;
    const canceled = await runs.cancel(ENV, run.id);
    // The first page, in incremental-column order, as plain SQL returns it.
    const firstPage = (
      await source.query({
        text: `select id, updated_at from ${table} order by updated_at, id limit 2`,
        params: [],
      })
    ).rows;
    expect(canceled).toMatchObject({ status: 'canceled', rows: 2, error: null, high_water_from: null });
    expect(canceled.cancel_requested_at).not.toBeNull();
    expect(await runs.get(ENV, run.id)).toMatchObject({ status: 'canceled', rows: 2 });
    // Rows up to the last value published may continue on the next page: the mark stays below it.
    expect(canceled.high_water_to).toBe((firstPage[0]!.updated_at as Date).toISOString());
    await eventually(
      () => writtenCount('member.full_name', 'members_cancel'),
      (n) => n >= 2,
    );
    expect(Object.keys(await written('member.full_name', 'members_cancel')).sort()).toEqual(
      firstPage.map((r) => String(r.id)).sort(),
    );

    await expect(runs.cancel(ENV, run.id)).rejects.toMatchObject({
      code: 'RUN_ALREADY_FINISHED',
      kind: 'conflict',
    });
    await expect(runs.cancel(ENV, 'run_nope')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });

    const restarted = newService();
    const next = await restarted.trigger({
      resolver_fqn: 'members_cancel',
      environment: ENV,
      trigger: 'API',
    });
    const after = firstPage[0]!.updated_at as Date;
    const done = await finished(restarted, next.id);
    expect(done).toMatchObject({ status: 'succeeded', rows: await count('updated_at > $1', [after]) });
    const everyone = (await source.query({ text: `select id from ${table}`, params: [] })).rows;
    const values = await eventually(
      () => written('member.full_name', 'members_cancel'),
      (v) => Object.keys(v).length >= everyone.length,
    );
    expect(Object.keys(values).sort()).toEqual(everyone.map((r) => String(r.id)).sort());
  });

  it('marks a run abandoned by a stopped data plane failed; a live one keeps running and can be asked to stop', async () => {
    const store = createObjectRunStore(objects);
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const base = {
      environment: ENV,
      resolver_fqn: 'members',
      deployment_id: 'd1',
      trigger: 'API' as const,
      lower_bound: null,
      upper_bound: null,
      max_samples: null,
      idempotency_key: null,
      store_online: true,
      store_offline: true,
      finished_at: null,
      rows: 4,
      values: 8,
      high_water_from: null,
      high_water_to: null,
      error: null,
      cancel_requested_at: null,
      attempt: 1,
      instance: null,
      chunks: 0,
      scan_at: null,
      incremental_start: null,
    };
    const hourAgo = at(3_600_000);
    await store.put({
      ...base,
      id: 'run_crashed1',
      status: 'running',
      created_at: hourAgo,
      started_at: hourAgo,
      heartbeat_at: hourAgo,
    });
    await store.put({
      ...base,
      id: 'run_crashed2',
      status: 'received',
      created_at: hourAgo,
      started_at: null,
      heartbeat_at: null,
    });
    await store.put({
      ...base,
      id: 'run_alive',
      status: 'running',
      created_at: hourAgo,
      started_at: hourAgo,
      heartbeat_at: at(1_000),
    });

    // A data plane starting after the crash, with take-overs off (they are tested in runs-resume.int.test.ts).
    const runs = newService(undefined, source, undefined, false);
    const listed = await runs.page(ENV, { status: 'running' });
    expect(listed.runs.map((r) => r.id)).toContain('run_alive');
    expect(listed.runs.map((r) => r.id)).not.toContain('run_crashed1');
    for (const id of ['run_crashed1', 'run_crashed2']) {
      const stored = (await store.get(ENV, id))!;
      expect(stored).toMatchObject({ status: 'failed', rows: 4 });
      expect(stored.error).toMatch(/^RUN_ABANDONED: no heartbeat since/);
    }
    // Run by another data plane: asked to stop (it looks at its next heartbeat), not failed.
    const asked = await runs.cancel(ENV, 'run_alive');
    expect(asked).toMatchObject({ status: 'running' });
    expect(await store.cancelRequested(ENV, 'run_alive')).toBe(asked.cancel_requested_at);
    await store.put({ ...(await store.get(ENV, 'run_alive'))!, status: 'failed', error: 'test cleanup' });
  });

  it('a running run heart-beats its progress and stops when another data plane asks it to', async () => {
    const { slow, waiting } = slowAt(1);
    const runner = newService(undefined, slow, 20);
    const run = await runner.trigger({ resolver_fqn: 'members', environment: ENV, trigger: 'API' });
    await waiting;
    const other = newService(); // a second data plane on the same object storage
    const beating = await eventually(
      () => other.get(ENV, run.id),
      (r) => r?.heartbeat_at != null && r.heartbeat_at !== r.started_at,
    );
    expect(beating).toMatchObject({ status: 'running', rows: 0 });
    const asked = await other.cancel(ENV, run.id);
    expect(asked.status).toBe('running');
    await runner.idle();
    expect(await other.get(ENV, run.id)).toMatchObject({
      status: 'canceled',
      rows: 0,
      cancel_requested_at: asked.cancel_requested_at,
    });
  });

  it('pages the runs of one resolver or status, newest first', async () => {
    const runs = newService();
    const all = await runs.list(ENV, 1_000);
    const ofMembers = all.filter((r) => r.resolver_fqn === 'members_incremental');
    expect(ofMembers.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await runs.page(ENV, { resolver_fqn: 'members_incremental', limit: 2, cursor });
      expect(page.runs.length).toBeLessThanOrEqual(2);
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(ofMembers.map((r) => r.id));
    const failed = await runs.page(ENV, { status: 'failed' });
    expect(failed.runs.map((r) => r.id).sort()).toEqual(
      all
        .filter((r) => r.status === 'failed')
        .map((r) => r.id)
        .sort(),
    );
    await expect(runs.page(ENV, { cursor: 'bogus' })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  });

  it('group mode: a restarted run re-aggregates only the groups with new rows, whole', async () => {
    const aggregates = async () =>
      Object.fromEntries(
        (
          await source.query({
            text: `select member_id, sum(amount) as total from ${payments} group by member_id`,
            params: [],
          })
        ).rows.map((r) => [String(r.member_id), Number(r.total)]),
      );
    const first = newService();
    const one = await first.trigger({ resolver_fqn: 'member_payments', environment: ENV, trigger: 'CRON' });
    expect(await finished(first, one.id)).toMatchObject({
      status: 'succeeded',
      rows: 3,
      high_water_to: day(9).toISOString(),
    });
    await source.query({ text: `insert into ${payments} values (10, 2, 1000, $1)`, params: [day(10)] });
    const restarted = newService();
    const two = await restarted.trigger({
      resolver_fqn: 'member_payments',
      environment: ENV,
      trigger: 'CRON',
    });
    expect(await finished(restarted, two.id)).toMatchObject({
      status: 'succeeded',
      rows: 1,
      high_water_from: day(9).toISOString(),
      high_water_to: day(10).toISOString(),
    });
    const totals = await eventually(
      () => written('member.payment_total', 'member_payments'),
      (v) => (v['2'] ?? []).length >= 2,
    );
    // Member 2 written twice (its whole group again), the others once; the latest values are plain SQL's.
    expect(Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v.length]))).toEqual({
      '1': 1,
      '2': 2,
      '3': 1,
    });
    expect(Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v[v.length - 1]]))).toEqual(
      await aggregates(),
    );
  });

  it('parameter mode: ${chalk_incremental_timestamp} is the mark less the lookback; a restart reads from there', async () => {
    const first = newService();
    const one = await first.trigger({ resolver_fqn: 'members_recent', environment: ENV, trigger: 'API' });
    const max = (await source.query({ text: `select max(updated_at) as m from ${table}`, params: [] }))
      .rows[0]!.m as Date;
    expect(await finished(first, one.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at > $1', [new Date(0)]),
      high_water_to: max.toISOString(),
    });
    await insert(9);
    const restarted = newService();
    const two = await restarted.trigger({ resolver_fqn: 'members_recent', environment: ENV, trigger: 'API' });
    // lookback 1d: the last day before the mark is read again (late rows), plus what is new.
    expect(await finished(restarted, two.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at > $1', [new Date(max.getTime() - 86_400_000)]),
      high_water_from: max.toISOString(),
      high_water_to: day(9).toISOString(),
    });
  });

  it('incremental_timestamp resolver_execution_time: the next run reads rows newer than the last run start', async () => {
    let now = day(20);
    const first = newService(() => now);
    const one = await first.trigger({ resolver_fqn: 'members_since_run', environment: ENV, trigger: 'CRON' });
    expect(await finished(first, one.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at is not null'),
      high_water_to: day(20).toISOString(),
    });
    await insert(19); // before the last run started: not picked up without a lookback
    await insert(21);
    now = day(22);
    const restarted = newService(() => now);
    const two = await restarted.trigger({
      resolver_fqn: 'members_since_run',
      environment: ENV,
      trigger: 'CRON',
    });
    expect(await finished(restarted, two.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at > $1', [day(20)]),
      high_water_from: day(20).toISOString(),
      high_water_to: day(22).toISOString(),
    });
    expect(await count('updated_at > $1', [day(20)])).toBe(1);
  });

  it('incremental state can be read, set and dropped (chalk incremental status|set|drop)', async () => {
    const runs = newService();
    const before = await runs.incrementalState(ENV, 'members_incremental');
    const [last] = (
      await runs.page(ENV, { resolver_fqn: 'members_incremental', status: 'succeeded', limit: 1 })
    ).runs;
    expect(before.high_water).toBe(last!.high_water_to);
    // Back to Jan 3: the next run reads what came after it again.
    expect(
      await runs.setIncrementalState(ENV, 'members_incremental', { high_water: day(3).toISOString() }),
    ).toEqual({ high_water: day(3).toISOString(), last_execution_at: before.last_execution_at });
    const again = await runs.trigger({
      resolver_fqn: 'members_incremental',
      environment: ENV,
      trigger: 'API',
    });
    expect(await finished(runs, again.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at > $1', [day(3)]),
      high_water_from: day(3).toISOString(),
    });
    await runs.dropIncrementalState(ENV, 'members_incremental');
    expect(await runs.incrementalState(ENV, 'members_incremental')).toEqual({
      high_water: null,
      last_execution_at: null,
    });
    const all = await runs.trigger({ resolver_fqn: 'members_incremental', environment: ENV, trigger: 'API' });
    expect(await finished(runs, all.id)).toMatchObject({ status: 'succeeded', rows: await count('true') });
    // A bounded run (a backfill) reads its window and leaves the state alone.
    const state = await runs.incrementalState(ENV, 'members_incremental');
    const window = await runs.trigger({
      resolver_fqn: 'members_incremental',
      environment: ENV,
      trigger: 'API',
      lower_bound: day(2).toISOString(),
      upper_bound: day(4).toISOString(),
    });
    expect(await finished(runs, window.id)).toMatchObject({
      status: 'succeeded',
      rows: await count('updated_at >= $1 and updated_at < $2', [day(2), day(4)]),
    });
    expect(await runs.incrementalState(ENV, 'members_incremental')).toEqual(state);
    await expect(runs.incrementalState(ENV, 'members')).rejects.toMatchObject({ code: 'NOT_INCREMENTAL' });
    await expect(
      runs.setIncrementalState(ENV, 'members_incremental', { high_water: 'last tuesday' }),
    ).rejects.toThrow();
  });
});
