import { randomBytes } from 'node:crypto';
import { createMetricRollups, registerDataPlane } from '@slate/data-plane';
import { logHistogramKey, type MetricRollupPoint } from '@slate/graph';
import { freePort, requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../../apps/metadata-plane/src/metadata-plane.ts';
import { createMetricStore } from '../../apps/metadata-plane/src/metrics/metric-store.ts';
import { createMemoryObjectStore } from '../../apps/metadata-plane/src/testing/memory-object-store.ts';
import { harness } from '../../apps/metadata-plane/src/testing/plane-harness.ts';

const adminUrl = testServices.postgresUrl;
const reachable = await requireService('PostgreSQL', adminUrl);

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A point built from raw observations, the way a data plane rolls them up. */
function point(
  environment: string,
  kind: MetricRollupPoint['kind'],
  name: string,
  minute: number,
  latencies: number[],
  extra: Partial<MetricRollupPoint> = {},
): MetricRollupPoint {
  const hist: Record<string, number> = {};
  for (const v of latencies) hist[logHistogramKey(v)] = (hist[logHistogramKey(v)] ?? 0) + 1;
  return {
    environment_id: environment,
    kind,
    name,
    minute: new Date(minute).toISOString(),
    count: latencies.length,
    sum: latencies.reduce((a, b) => a + b, 0),
    min: latencies.length ? Math.min(...latencies) : null,
    max: latencies.length ? Math.max(...latencies) : null,
    hist: latencies.length ? hist : null,
    ...extra,
  };
}

describe.skipIf(!reachable)('metric rollups store (PostgreSQL)', () => {
  let plane: MetadataPlane;
  let database = '';
  const { call, serviceToken } = harness(() => plane);
  let east: { token: string; data_plane_id: string };
  let west: { token: string; data_plane_id: string };
  // Whole hours two hours back: inside the minute retention, hours complete.
  const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;

  beforeAll(async () => {
    database = `slate_mp_${randomBytes(6).toString('hex')}`;
    await admin((c) => c.query(`create database ${database}`));
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    plane = await createMetadataPlane({
      mode: 'production',
      database: { type: 'postgres', url: url.toString() },
      objectStore: createMemoryObjectStore(),
      apiServer: 'http://mp.test',
      registrationToken: 'registration-token-for-tests',
      seed: {
        teams: [
          { id: 'acme', name: 'Acme' },
          { id: 'globex', name: 'Globex' },
        ],
        projects: [
          { id: 'web', name: 'Web', team_id: 'acme' },
          { id: 'gx', name: 'Globex web', team_id: 'globex' },
        ],
        environments: [
          { id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' },
          { id: 'gxprod', name: 'Globex prod', project_id: 'gx', team_id: 'globex' },
        ],
      },
      scheduler: { enabled: false },
      logger: pino({ level: 'silent' }),
    });
    const register = async (name: string) =>
      (
        await call(
          'POST',
          '/v1/data-planes/register',
          { token: 'registration-token-for-tests' },
          { name, url: `http://${name}.test` },
        )
      ).body as { token: string; data_plane_id: string };
    east = await register('east');
    west = await register('west');
  });
  afterAll(async () => {
    await plane?.close();
    if (database) await admin((c) => c.query(`drop database if exists ${database} with (force)`));
  });

  const report = (token: string, source: string, points: MetricRollupPoint[]) =>
    call('POST', '/v1/data-plane/metrics', { token }, { source, points });

  it('counts a retried delivery once, ignores foreign environments, refuses minutes past retention', async () => {
    const servedBy = await plane.services.db
      .selectFrom('environments')
      .select(['id', 'data_plane_id'])
      .execute();
    expect(servedBy.find((e) => e.id === 'dev')?.data_plane_id).toBe(east.data_plane_id);
    const points = [
      point('dev', 'query', 'checkout', base, [0.01, 0.02, 0.03], { errors: 1, hits: 5, misses: 1 }),
      point('dev', 'query', 'checkout', base + MINUTE, [0.04]),
      point('dev', 'query', 'search', base, [0.5, 0.5]),
    ];
    const first = await report(east.token, 'east-1/boot-a', points);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ recorded: 3, duplicates: 0, ignored: 0, stale: 0 });
    // The answer was lost; the data plane sends the same report again.
    const retry = await report(east.token, 'east-1/boot-a', points);
    expect(retry.body).toEqual({ recorded: 0, duplicates: 3, ignored: 0, stale: 0 });
    // A second instance of the same data plane counts on its own.
    const peer = await report(east.token, 'east-2/boot-b', [point('dev', 'query', 'checkout', base, [0.05])]);
    expect(peer.body).toEqual({ recorded: 1, duplicates: 0, ignored: 0, stale: 0 });
    // West does not serve dev; a minute three days ago is past the 2-day minute retention.
    const foreign = await report(west.token, 'west-1/boot-c', [point('dev', 'query', 'checkout', base, [9])]);
    expect(foreign.body).toEqual({ recorded: 0, duplicates: 0, ignored: 1, stale: 0 });
    const old = await report(east.token, 'east-1/boot-a', [
      point('dev', 'query', 'checkout', base - 3 * 86_400_000, [1]),
    ]);
    expect(old.body).toEqual({ recorded: 0, duplicates: 0, ignored: 0, stale: 1 });
    const bad = await call('POST', '/v1/data-plane/metrics', east, {
      source: 'east-1/boot-a',
      points: [{ environment_id: 'dev', kind: 'nope', name: 'x', minute: 'now', count: -1 }],
    });
    expect(bad.status).toBe(400);

    const reader = await serviceToken('dev', ['monitoring.read']);
    const q = (params: string) =>
      call(
        'GET',
        `/v1/environments/dev/metrics/series?from=${new Date(base).toISOString()}&to=${new Date(base + 3 * MINUTE).toISOString()}&${params}`,
        reader,
      );
    const count = await q('metric=query_count&window=1m');
    expect(count.status).toBe(200);
    // checkout 3 + peer 1, search 2 in the first minute; checkout 1 in the second; none in the third.
    expect(count.body.timestamps).toEqual([base / 1000, base / 1000 + 60, base / 1000 + 120]);
    expect(count.body.series).toEqual([{ name: null, values: [6, 1, 0] }]);
    const grouped = await q('metric=query_count&window=1m&group_by=name');
    expect(grouped.body.series).toEqual([
      { name: 'checkout', values: [4, 1, 0] },
      { name: 'search', values: [2, 0, 0] },
    ]);
    const errorRate = await q('metric=query_error_rate&window=3m&name=checkout');
    expect(errorRate.body.series).toEqual([{ name: null, values: [1 / 5] }]);
    const hitRate = await q('metric=query_cache_hit_rate&window=3m');
    expect(hitRate.body.series).toEqual([{ name: null, values: [5 / 6] }]);
    const max = await q('metric=query_latency&aggregation=max&window=1m&name=checkout');
    expect(max.body.series).toEqual([{ name: null, values: [0.05, 0.04, null] }]);
    // checkout's five latencies 0.01..0.05: the median 0.03, within the sketch's 4.4%.
    const p50 = await q('metric=query_latency&aggregation=p50&window=3m&name=checkout');
    const median = (p50.body.series as { values: number[] }[])[0]!.values[0]!;
    expect(Math.abs(median - 0.03) / 0.03).toBeLessThan(0.045);
    const mean = await q('metric=query_latency&aggregation=mean&window=3m&name=search');
    expect((mean.body.series as { values: number[] }[])[0]!.values[0]).toBeCloseTo(0.5, 10);
    const rate = await q('metric=query_count&aggregation=rate&window=1m&name=search');
    expect(rate.body.series).toEqual([{ name: null, values: [2 / 60, 0, 0] }]);

    // Errors are input errors with stable codes.
    expect((await q('metric=query_count&aggregation=p99')).body.code).toBe('INVALID_AGGREGATION');
    expect((await q('metric=query_count&window=90s')).body.code).toBe('INVALID_WINDOW');
    expect((await q('metric=nope')).status).toBe(400);
  });

  it('downsamples into hours and prunes each resolution at its retention', async () => {
    const hour = base + HOUR;
    const points = [0, 15, 59].map((m, i) =>
      point('dev', 'resolver', 'user.get_score', hour + m * MINUTE, [0.1 * (i + 1)], {
        errors: i === 2 ? 1 : 0,
      }),
    );
    expect((await report(east.token, 'east-1/boot-d', points)).body.recorded).toBe(3);
    const reader = await serviceToken('dev', ['monitoring.read']);
    const hourly = await call(
      'GET',
      `/v1/environments/dev/metrics/series?metric=resolver_count&window=1h&from=${new Date(hour).toISOString()}&to=${new Date(hour + HOUR).toISOString()}`,
      reader,
    );
    expect(hourly.body.resolution).toBe('1h');
    expect(hourly.body.series).toEqual([{ name: null, values: [3] }]);
    const rows = await plane.services.db
      .selectFrom('metric_points')
      .selectAll()
      .where('kind', '=', 'resolver')
      .orderBy('resolution')
      .orderBy('bucket')
      .execute();
    expect(rows.map((r) => [r.resolution, r.bucket.getTime(), r.count, r.errors])).toEqual([
      ['1h', hour, 3, 1],
      ['1m', hour, 1, 0],
      ['1m', hour + 15 * MINUTE, 1, 0],
      ['1m', hour + 59 * MINUTE, 1, 1],
    ]);
    // The hour's sketch is the three minutes' sketches added up.
    const expected: Record<string, number> = {};
    for (const v of [0.1, 0.2, 0.30000000000000004])
      expected[logHistogramKey(v)] = (expected[logHistogramKey(v)] ?? 0) + 1;
    expect(rows[0]!.hist).toEqual(expected);
    expect([rows[0]!.min, rows[0]!.max]).toEqual([0.1, 0.30000000000000004]);

    // Three days on: minute points (2 days) are gone, the hour (90 days) stays; 91 days on, it goes too.
    const later = createMetricStore(plane.services.db, { now: () => hour + 3 * 86_400_000 });
    const pruned = await later.prune();
    expect(pruned.points).toBeGreaterThanOrEqual(3);
    const left = await plane.services.db.selectFrom('metric_points').select(['resolution']).execute();
    expect(new Set(left.map((r) => r.resolution))).toEqual(new Set(['1h']));
    const hoursLater = await later.querySeries('dev', {
      metric: 'resolver_error_rate',
      window: '1h',
      from: new Date(hour).toISOString(),
      to: new Date(hour + HOUR).toISOString(),
    });
    expect(hoursLater.series).toEqual([{ name: null, values: [1 / 3] }]);
    await expect(
      later.querySeries('dev', {
        metric: 'resolver_count',
        window: '5m',
        from: new Date(hour).toISOString(),
        to: new Date(hour + HOUR).toISOString(),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_WINDOW' });
    await createMetricStore(plane.services.db, { now: () => hour + 91 * 86_400_000 }).prune();
    expect(await plane.services.db.selectFrom('metric_points').selectAll().execute()).toEqual([]);
  });

  it("reads series only with monitoring.read on the environment's team", async () => {
    const url = (env: string) =>
      `/v1/environments/${env}/metrics/series?metric=query_count&from=${new Date(base).toISOString()}&to=${new Date(base + HOUR).toISOString()}`;
    expect((await call('GET', url('dev'))).status).toBe(401);
    // A data plane's token is not a principal.
    expect((await call('GET', url('dev'), { token: east.token })).status).toBe(401);
    const other = await serviceToken('gxprod', ['monitoring.read']);
    expect([403, 404]).toContain((await call('GET', url('dev'), other)).status);
    const noPermission = await serviceToken('dev', ['deploy.read']);
    expect((await call('GET', url('dev'), noPermission)).status).toBe(403);
    // Globex's environment has no points: dev's never leak into it.
    const own = await call('GET', url('gxprod'), other);
    expect(own.status).toBe(200);
    expect((own.body.series as { values: number[] }[])[0]!.values.every((v) => v === 0)).toBe(true);
  });

  it("counts a data plane's report once when its answer was lost and the rollups sent it again", async () => {
    const port = await freePort();
    await plane.listen({ port });
    const client = await registerDataPlane({
      metadataPlaneUrl: `http://127.0.0.1:${port}`,
      registrationToken: 'registration-token-for-tests',
      name: 'north',
      publicUrl: 'http://north.test',
    });
    const creator = await serviceToken('dev', ['environment.create']);
    const created = await call('POST', '/v1/environments', creator, {
      id: 'north1',
      name: 'North',
      project_id: 'web',
      data_plane_id: client.id,
    });
    expect(created.body.data_plane_id).toBe(client.id);
    let clock = base + 30 * MINUTE;
    let attempts = 0;
    const rollups = createMetricRollups({ now: () => clock });
    rollups.start(async (r) => {
      attempts++;
      const outcome = await client.reportMetrics!(r);
      // The metadata plane stored the first delivery, but its answer never reached the data plane.
      if (attempts === 1) throw new Error('connection reset');
      return outcome;
    }, client.instanceId);
    const runtime = rollups.instrumentRuntime(
      {
        call: async (request: { resolver: string }) => [
          { ok: request.resolver !== 'user.broken', outputs: {} },
        ],
        close: async () => {},
      } as never,
      'north1',
    );
    for (let i = 0; i < 7; i++)
      await runtime.call({ resolver: 'user.get_score' } as never, undefined as never);
    for (let i = 0; i < 2; i++) await runtime.call({ resolver: 'user.broken' } as never, undefined as never);
    clock += MINUTE;
    await rollups.flush();
    expect(rollups.stats().buffered).toBeGreaterThan(0); // kept after the lost answer
    await rollups.flush();
    expect(attempts).toBe(2);
    expect(rollups.stats()).toMatchObject({ buffered: 0, dropped: 0 });
    const series = await call(
      'GET',
      `/v1/environments/north1/metrics/series?metric=resolver_count&window=1h&group_by=name&from=${new Date(base).toISOString()}&to=${new Date(base + HOUR).toISOString()}`,
      await serviceToken('north1', ['monitoring.read']),
    );
    expect(series.status).toBe(200);
    expect(series.body.series).toEqual([
      { name: 'user.get_score', values: [7] },
      { name: 'user.broken', values: [2] },
    ]);
  });
});
