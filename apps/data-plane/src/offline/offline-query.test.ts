import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createLocalObjectStore,
  createLogBus,
  createParquetOfflineStore,
  type ObjectStore,
  type Observation,
  type OfflineStore,
} from '@slate/stores';
import { pointInTimeOracle, seededRandom } from '@slate/stores/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlane, type TestPlane } from '../http/fixtures/test-plane.ts';
import { createBusFeatureWriter } from '../persistence/bus-feature-writer.ts';
import { createPersistenceWorker, type PersistenceWorker } from '../persistence/persistence-worker.ts';
import { publishingEngine } from '../persistence/publishing-engine.ts';
import { createResultPublisher, type ResultPublisher } from '../persistence/result-publisher.ts';
import { createOfflineWriter } from '../persistence/writers/offline-writer.ts';
import { createOnlineWriter } from '../persistence/writers/online-writer.ts';
import { createPgliteSqlSource } from '../sources/pglite-sql-source.ts';
import { offlineQueryRoutes } from './offline-query-routes.ts';
import { createOfflineQueryService, type OfflineQueryService } from './offline-query-service.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-offline-query-'));
const T = Date.UTC(2025, 0, 10);
let plane: TestPlane;
let offline: OfflineStore;
let service: OfflineQueryService;
let worker: PersistenceWorker;
let publisher: ResultPublisher;
let bus: ReturnType<typeof createLogBus>;
let auth: Record<string, string>;
const appDb = createPgliteSqlSource();
let clockSkew = 0;
/**
 * When set, the save of a revision record that says COMPLETED waits for it: the object store is real, only
 * slowed at that one write, so a test can read the revision while its finished record is being saved.
 */
let beforeCompletedSave: ((key: string) => Promise<void>) | undefined;

/** `store` with every `put` of a COMPLETED revision record held by `beforeCompletedSave` first. */
function pausingCompletedSaves(store: ObjectStore): ObjectStore {
  return Object.assign(Object.create(store) as ObjectStore, {
    async put(...args: Parameters<ObjectStore['put']>) {
      const [bucket, key, body] = args;
      if (
        beforeCompletedSave &&
        bucket === 'dataset' &&
        /^offline-queries\/[^/]+\/revisions\/[0-9a-f-]{36}\.json$/.test(key) &&
        typeof body === 'string' &&
        (JSON.parse(body) as { status: string }).status === 'COMPLETED'
      )
        await beforeCompletedSave(key);
      return store.put(...args);
    },
  });
}

beforeAll(async () => {
  const objectStore = createLocalObjectStore({ root: join(root, 'objects') });
  await objectStore.init();
  offline = createParquetOfflineStore({ objectStore, threads: 1 });
  await offline.init();
  bus = createLogBus({ root: join(root, 'bus'), sync: false });
  await bus.init();
  publisher = createResultPublisher(bus);
  plane = await createTestPlane({ server: { featureWriter: createBusFeatureWriter(bus) } });
  worker = createPersistenceWorker({
    bus,
    writers: [createOnlineWriter(plane.onlineStore), createOfflineWriter(offline)],
    lingerMs: 20,
  });
  service = createOfflineQueryService({
    served: plane.served,
    offlineStore: offline,
    objectStore: pausingCompletedSaves(objectStore),
    publisher,
    sqlSources: (environment) => new Map(environment.id === 'dev' ? [['app_db', appDb]] : []),
  });
  await appDb.init();
  await plane.app.register(offlineQueryRoutes, {
    served: plane.served,
    service,
    apiHostUrl: 'https://api.example.test/',
    now: () => Date.now() + clockSkew,
  });
  await plane.app.ready();
  auth = { authorization: `Bearer ${await plane.token({ perms: ['query.online', 'query.offline'] })}` };
});

afterAll(async () => {
  await service.idle();
  await worker.stop();
  await plane.app.close();
  await offline.close();
  await bus.close();
  await appDb.close();
  await rm(root, { recursive: true, force: true });
});

async function drainBus() {
  await publisher.flush();
  while ((await worker.runOnce()) > 0) {}
}

/** Submits an offline query, waits for it, and returns its revision and result rows. */
async function offlineQuery(body: Record<string, unknown>) {
  const submitted = await plane.app.inject({
    method: 'POST',
    url: '/v4/offline_query',
    headers: auth,
    payload: body,
  });
  expect(submitted.statusCode, submitted.body).toBe(200);
  const dataset = submitted.json();
  const revision = dataset.revisions[0].revision_id as string;
  await service.idle();
  const polled = await plane.app.inject({
    method: 'GET',
    url: `/v2/offline_query/${revision}`,
    headers: auth,
  });
  expect(polled.statusCode).toBe(200);
  const result = polled.json();
  const rows: Record<string, unknown>[] = [];
  for (const url of result.urls as string[]) {
    // Signed links: no credentials needed, like the seed product's short-lived URLs.
    const link = new URL(url);
    const part = await plane.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(part.statusCode).toBe(200);
    const file = join(root, `${revision}.parquet`);
    await writeFile(file, part.rawPayload);
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}') ORDER BY __row__`);
    rows.push(...reader.getRowObjectsJS());
    connection.closeSync();
    duck.closeSync();
  }
  return { dataset, revision, result, rows };
}

const iso = (t: number) => new Date(t).toISOString();

describe('offline queries over HTTP', () => {
  it('samples the offline store point-in-time exactly as the brute-force oracle does', async () => {
    const random = seededRandom(42);
    const observations: Observation[] = [];
    let inserted = T;
    for (let batch = 0; batch < 4; batch++) {
      const rows: Observation[] = [];
      for (let i = 0; i < 60; i++) {
        const feature = random() < 0.5 ? 'user.name' : 'user.total_spend';
        rows.push({
          feature,
          pkey: String(1 + Math.floor(random() * 5)),
          value:
            feature === 'user.name' ? `n${Math.floor(random() * 100)}` : Math.round(random() * 10_000) / 100,
          // Few distinct times: ties, and later batches backdating earlier ones.
          observedAt: T + Math.floor(random() * 10) * 60_000,
          insertedAt: inserted++,
        });
      }
      observations.push(...rows);
      await offline.write('dev', [{ id: `oracle-${batch}`, observations: rows }]);
    }
    const n = 80;
    const ids = Array.from({ length: n }, () => 1 + Math.floor(random() * 6));
    const times = Array.from({ length: n }, () => T - 60_000 + Math.floor(random() * 12) * 60_000);
    const { result, rows } = await offlineQuery({
      input: { columns: ['user.id'], values: [ids] },
      input_times: times.map(iso),
      output: ['user.name', 'user.total_spend'],
    });
    expect(result.is_finished).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.columns.map((c: { feature_fqn: string }) => c.feature_fqn)).toEqual([
      'user.id',
      'user.name',
      'user.total_spend',
    ]);
    const expected = pointInTimeOracle(observations, { pkeys: ids.map(String), times }, [
      { fqn: 'user.name', ttlMs: null },
      { fqn: 'user.total_spend', ttlMs: null },
    ]);
    expect(rows).toHaveLength(n);
    expect(rows.map((r) => r['user.id'])).toEqual(ids.map(String));
    expect(rows.map((r) => (r.__ts__ as Date).getTime())).toEqual(times);
    expect(rows.map((r) => r['user.name'])).toEqual(expected[0]!.values);
    expect(rows.map((r) => r['user.total_spend'])).toEqual(expected[1]!.values);
    expect(rows.map((r) => (r['user.name.__observed_at__'] as Date | null)?.getTime() ?? null)).toEqual(
      expected[0]!.observedAt,
    );
    expect(expected[0]!.values.filter((v) => v !== null).length).toBeGreaterThan(n / 3);
  });

  it('returns values computed by online queries and uploads at the right times', async () => {
    plane.served.activate('dev', {
      id: 'cdep2',
      engine: publishingEngine(plane.engineFor('cdep2'), publisher, { environment: 'dev' }),
    });
    const at = T + 86_400_000;
    const online = await plane.app.inject({
      method: 'POST',
      url: '/v1/query/online',
      headers: auth,
      payload: { inputs: { 'user.id': 3 }, outputs: ['user.email_domain', 'user.risk_score'], now: iso(at) },
    });
    expect(online.statusCode, online.body).toBe(200);
    await createBusFeatureWriter(bus).write(
      'dev',
      [{ feature: 'user.email', pkey: 4, value: 'e@uploaded.example', observedAt: at + 5_000 }],
      { online: true, offline: true },
    );
    await drainBus();
    const { rows } = await offlineQuery({
      input: {
        columns: ['user.id', '__ts__'],
        values: [
          [3, 3, 4, 4],
          [iso(at - 1), iso(at), iso(at + 4_999), iso(at + 5_000)],
        ],
      },
      output: ['user.email_domain', 'user.email', 'user.risk_score'],
    });
    expect(rows.map((r) => [r['user.email_domain'], r['user.email']])).toEqual([
      [null, null],
      ['gmail.com', null],
      [null, null],
      [null, 'e@uploaded.example'],
    ]);
    // The offline copy is the value the online query answered with.
    const answered = online.json().data.find((d: { field: string }) => d.field === 'user.risk_score');
    expect(typeof answered.value).toBe('number');
    expect(rows[1]!['user.risk_score']).toBe(answered.value);
    expect(rows[0]!['user.risk_score']).toBeNull();
    expect((rows[1]!['user.risk_score.__observed_at__'] as Date).getTime()).toBe(at);
  });

  it('answers ties of key and timestamp as the online store does: the last row of an upload, the later upload', async () => {
    const at = T + 3 * 86_400_000;
    const writer = createBusFeatureWriter(bus);
    const upload = (pkey: number, values: string[]) =>
      writer.write(
        'dev',
        values.map((value) => ({ feature: 'user.email', pkey, value, observedAt: at })),
        { online: true, offline: true },
      );
    // Key 7: one upload holding the same key and time many times. Key 8: two uploads, the same millisecond.
    await upload(
      7,
      Array.from({ length: 40 }, (_, i) => `row-${i}@tie.example`),
    );
    await upload(8, ['first@tie.example', 'also-first@tie.example']);
    await upload(8, ['second@tie.example']);
    await drainBus();
    const online = await plane.onlineStore.get('dev', [
      { feature: 'user.email', pkey: 7 },
      { feature: 'user.email', pkey: 8 },
    ]);
    expect(online.map((stored) => stored?.value)).toEqual(['row-39@tie.example', 'second@tie.example']);
    const { rows } = await offlineQuery({
      input: {
        columns: ['user.id', '__ts__'],
        values: [
          [7, 8],
          [iso(at), iso(at + 1)],
        ],
      },
      output: ['user.email'],
    });
    expect(rows.map((r) => r['user.email'])).toEqual(['row-39@tie.example', 'second@tie.example']);
  });

  it('recomputes features through the resolvers at each row time, and stores them offline when asked', async () => {
    const at = T + 2 * 86_400_000;
    const { result, rows, revision } = await offlineQuery({
      input: { columns: ['user.id'], values: [[1, 2]] },
      input_times: [iso(at), iso(at + 1_000)],
      output: ['user.name', 'user.email_domain'],
      recompute_features: ['user.email_domain'],
      store_offline: true,
    });
    expect(result.errors).toEqual([]);
    expect(rows.map((r) => r['user.email_domain'])).toEqual(['analytical.io', 'navy.mil']);
    expect(rows.map((r) => (r['user.email_domain.__observed_at__'] as Date).getTime())).toEqual([
      at,
      at + 1_000,
    ]);
    await drainBus();
    const stored = (await offline.scan('dev', { features: ['user.email_domain'] })).filter(
      (o) => o.queryId === revision,
    );
    expect(stored.map((o) => [o.pkey, o.value, o.observedAt])).toEqual([
      ['1', 'analytical.io', at],
      ['2', 'navy.mil', at + 1_000],
    ]);
  });

  it('reports status, fails unsupported requests per revision, and checks permissions', async () => {
    const { revision, result } = await offlineQuery({
      spine_sql_query: 'update app_users set id = 0',
      output: ['user.name'],
    });
    expect(result.is_finished).toBe(true);
    expect(result.errors[0]).toMatchObject({ code: 'INVALID_QUERY' });
    const status = await plane.app.inject({
      method: 'GET',
      url: `/v4/offline_query/${revision}/status`,
      headers: auth,
    });
    expect(status.json().report).toMatchObject({
      operation_id: revision,
      status: 'FAILED',
      environment_id: 'dev',
      error: expect.objectContaining({ code: 'INVALID_QUERY' }),
      operation_metadata: { num_rows: 0, attempt: 1, duration_ms: expect.any(Number) },
    });
    const missing = await plane.app.inject({
      method: 'GET',
      url: '/v2/offline_query/00000000-0000-0000-0000-000000000000',
      headers: auth,
    });
    expect(missing.statusCode).toBe(404);
    const readOnly = { authorization: `Bearer ${await plane.token({ perms: ['query.online'] })}` };
    const denied = await plane.app.inject({
      method: 'POST',
      url: '/v4/offline_query',
      headers: readOnly,
      payload: { output: ['user.name'] },
    });
    expect(denied.statusCode).toBe(403);
  });

  it('takes the spine from spine_sql_query on a data source: keys and ts from SQL, sampled as the oracle does', async () => {
    const observations: Observation[] = [];
    const base = T + 5 * 86_400_000;
    for (let i = 0; i < 12; i++)
      observations.push({
        feature: 'user.name',
        pkey: String(100 + (i % 3)),
        value: `spine-${i}`,
        observedAt: base + i * 60_000,
        insertedAt: base + i,
      });
    await offline.write('dev', [{ id: 'spine-sql', observations }]);
    await appDb.query({ text: 'create table app_users (id int, seen_at timestamptz)', params: [] });
    const spine = Array.from({ length: 9 }, (_, i) => ({ id: 100 + (i % 4), t: base + i * 90_000 - 30_000 }));
    await appDb.query({
      text: `insert into app_users values ${spine.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`,
      params: spine.flatMap((r) => [r.id, new Date(r.t)]),
    });
    const { result, rows } = await offlineQuery({
      spine_sql_query: 'select id, seen_at as ts from app_users order by seen_at',
      output: ['user.name'],
      max_samples: 8,
    });
    expect(result.errors).toEqual([]);
    const kept = spine.slice(0, 8);
    const expected = pointInTimeOracle(
      observations,
      { pkeys: kept.map((r) => String(r.id)), times: kept.map((r) => r.t) },
      [{ fqn: 'user.name', ttlMs: null }],
    );
    expect(rows.map((r) => r['user.id'])).toEqual(kept.map((r) => String(r.id)));
    expect(rows.map((r) => (r.__ts__ as Date).getTime())).toEqual(kept.map((r) => r.t));
    expect(rows.map((r) => r['user.name'])).toEqual(expected[0]!.values);
    expect(expected[0]!.values.filter((v) => v !== null).length).toBeGreaterThan(3);
  });

  it('passes a spine column named like a feature as that input when recomputing', async () => {
    const at = T + 6 * 86_400_000;
    await appDb.query({
      text: 'create table app_emails (user_id int, email text, at timestamptz)',
      params: [],
    });
    await appDb.query({
      text: 'insert into app_emails values (1, $1, $3), (2, $2, $3)',
      params: ['kim@Given.Example', 'lee@other.org', new Date(at)],
    });
    const { result, rows } = await offlineQuery({
      spine_sql_query: '-- source: app_db\nselect user_id, email, at as ts from app_emails order by user_id',
      output: ['user.email_domain'],
      recompute_features: true,
    });
    expect(result.errors).toEqual([]);
    // The resolver ran on the spine's emails (not the ones the id would look up: analytical.io, navy.mil).
    expect(rows.map((r) => [r['user.id'], r['user.email_domain']])).toEqual([
      ['1', 'given.example'],
      ['2', 'other.org'],
    ]);
    expect(rows.map((r) => (r.__ts__ as Date).getTime())).toEqual([at, at]);
  });

  it('serves results through short-lived signed links only: altered or expired links are refused', async () => {
    const { result, revision } = await offlineQuery({
      input: { columns: ['user.id'], values: [[1]] },
      output: ['user.name'],
    });
    const link = new URL(result.urls[0] as string);
    const get = (url: string) => plane.app.inject({ method: 'GET', url });
    expect((await get(`${link.pathname}${link.search}`)).statusCode).toBe(200);
    const altered = new URL(link);
    altered.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3_600));
    const tampered = await get(`${altered.pathname}${altered.search}`);
    expect(tampered.statusCode).toBe(403);
    expect(tampered.json().code).toBe('DOWNLOAD_LINK_INVALID');
    const otherPart = await get(`${link.pathname.replace(/\/0$/, '/1')}${link.search}`);
    expect(otherPart.json().code).toBe('DOWNLOAD_LINK_INVALID');
    const otherEnv = new URL(link);
    otherEnv.searchParams.set('environment', 'prod');
    expect((await get(`${otherEnv.pathname}${otherEnv.search}`)).json().code).toBe('DOWNLOAD_LINK_INVALID');
    expect((await get(link.pathname)).statusCode).toBe(403);
    clockSkew = 3_601_000;
    try {
      const expired = await get(`${link.pathname}${link.search}`);
      expect(expired.statusCode).toBe(403);
      expect(expired.json().code).toBe('DOWNLOAD_LINK_EXPIRED');
    } finally {
      clockSkew = 0;
    }
    // The bearer-token route still serves the part to a caller with the permission.
    const direct = await plane.app.inject({
      method: 'GET',
      url: `/v4/offline_query/${revision}/parts/0`,
      headers: auth,
    });
    expect(direct.statusCode).toBe(200);
    expect(direct.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('names the API host in links only for requests it forwarded (its exact URL), this server otherwise', async () => {
    const { revision } = await offlineQuery({
      input: { columns: ['user.id'], values: [[1]] },
      output: ['user.name'],
    });
    const linksVia = async (apiHost?: string) => {
      const headers = apiHost === undefined ? auth : { ...auth, 'x-slate-api-host': apiHost };
      const polled = await plane.app.inject({ method: 'GET', url: `/v2/offline_query/${revision}`, headers });
      return (polled.json().urls as string[]).map((url) => new URL(url));
    };
    const viaApiHost = await linksVia('https://api.example.test');
    expect(viaApiHost.map((url) => url.origin)).toEqual(['https://api.example.test']);
    // Light-my-request's host: the server's own address.
    expect((await linksVia()).map((url) => url.origin)).toEqual(['http://localhost']);
    // Any other value is ignored: a caller cannot point links at a host of its choosing.
    expect((await linksVia('https://evil.example')).map((url) => url.origin)).toEqual(['http://localhost']);
    // The signature covers no host: the API host's link downloads here as-is (the API host forwards it).
    const link = viaApiHost[0] as URL;
    const part = await plane.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(part.statusCode).toBe(200);
    expect(part.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('serves a finished revision and its download while its finished record is still being saved', async () => {
    // Issue 11.9: the job forgot its in-memory record before the COMPLETED one was saved, so a reader in
    // between got the stored WORKING record and its download answered 404 DATASET_NOT_FOUND.
    let entered!: () => void;
    const saving = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    beforeCompletedSave = async () => {
      entered();
      await released;
    };
    try {
      const submitted = await plane.app.inject({
        method: 'POST',
        url: '/v4/offline_query',
        headers: auth,
        payload: { input: { columns: ['user.id'], values: [[1]] }, output: ['user.name'] },
      });
      expect(submitted.statusCode, submitted.body).toBe(200);
      const revision = submitted.json().revisions[0].revision_id as string;
      await saving;
      // The finished record is being written and not yet readable from the store: the window.
      const polled = await plane.app.inject({
        method: 'GET',
        url: `/v2/offline_query/${revision}`,
        headers: auth,
      });
      expect(polled.statusCode).toBe(200);
      expect(polled.json()).toMatchObject({ is_finished: true, errors: [] });
      const link = new URL(polled.json().urls[0] as string);
      const signed = await plane.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
      expect(signed.statusCode, signed.body).toBe(200);
      const direct = await plane.app.inject({
        method: 'GET',
        url: `/v4/offline_query/${revision}/parts/0`,
        headers: auth,
      });
      expect(direct.statusCode, direct.body).toBe(200);
      expect(direct.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    } finally {
      beforeCompletedSave = undefined;
      release();
      await service.idle();
    }
  });
});
